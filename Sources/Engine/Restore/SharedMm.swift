import Glibc
import CSys
import Compel
import Images

/// A process that shares its parent's address space (CLONE_VM, maybe CLONE_SIGHAND: the same vm_id and
/// sighand_id in their ids images). A task's memory is rebuilt by unmapping everything it has, so the
/// sharer cannot be forked early and rebuilt on its own: it is born last, by a clone3 injected into its
/// parent once the parent's memory and threads are back, at its pid, like a thread but with SIGCHLD and
/// without CLONE_THREAD. The clone is traced (PTRACE_O_TRACEFORK), so it stops before its first
/// instruction; it runs none of criu's code and gets everything of its own by injected syscalls: its fds
/// (taken from its parent's table, which it copied at the clone), session and group, umask and cwd,
/// threads, then the single-task state (TaskRestore). Its pages are its parent's (an empty pagemap).
enum SharedMm {
    /// First holder of each vm_id and sighand_id seen so far.
    struct Seen {
        var vm: [UInt32: Int32] = [:]
        var sighand: [UInt32: Int32] = [:]
    }

    /// Clone flags for a task whose vm_id or sighand_id is its parent's; refuses ids shared with any
    /// other task (the tree is in pstree order, parents first). `parent`: nil for the root.
    static func cloneFlags(pid: Int32, ids: TaskKobjIdsEntry, parent: TaskKobjIdsEntry?, seen: inout Seen) throws -> UInt64 {
        if parent?.sighandID == ids.sighandID && parent?.vmID != ids.vmID {
            throw EngineError("restore", pid: pid, reason: "shares its signal handlers (sighand_id \(ids.sighandID)) with its parent but not its address space")
        }
        return try CloneShare.vm.cloneFlag(pid: pid, id: ids.vmID, parentID: parent?.vmID, seen: &seen.vm)
            | CloneShare.sighand.cloneFlag(pid: pid, id: ids.sighandID, parentID: parent?.sighandID, seen: &seen.sighand)
    }

    /// What the dump refuses, checked again on the images before anything is created: a sharer has no
    /// children and holds only files its parent holds.
    static func validate(_ plans: [ChildPlan]) throws {
        for p in plans {
            for ci in p.children where plans[ci].sharesParentVm {
                let c = plans[ci]
                if let kid = c.children.first {
                    throw EngineError("restore", pid: c.pid, reason: "shares its parent's address space and has a child \(plans[kid].pid); not supported")
                }
                let held = Set(p.fds.map(\.file.id))
                if let f = c.fds.first(where: { !held.contains($0.file.id) }) {
                    throw EngineError("restore", pid: c.pid, fd: f.fd, reason: "shares its parent's address space, but its parent \(p.pid) does not hold this file")
                }
            }
        }
    }

    /// Host pid of the child `inner` (its pid in the tree's pid namespace) of `parentHost`.
    static func hostPid(parentHost: Int32, inner: Int32, ownPidNs: Bool) throws -> Int32 {
        guard ownPidNs else { return inner }
        for c in (try? Tasks.children(pid: parentHost)) ?? [] {
            if let st = try? Status.read(pid: c), st.nsPid.last == inner { return c }
        }
        throw EngineError("find restored task", pid: parentHost, reason: "no child with pid \(inner) in its pid namespace")
    }

    /// Injects clone3 into the parent (`r`) and takes the new process over. Returns it held, with its
    /// syscalls run through the parent's trampoline (the same memory).
    static func clone(_ r: Remote, pid: Int32, flags: UInt64, ownPidNs: Bool, trampoline: UInt64) throws -> SeizedTask {
        let argsOffset = 0, tidOffset = 128
        var args = csys_clone_args()
        args.flags = flags
        args.exit_signal = UInt64(SIGCHLD)
        args.set_tid = r.addr(tidOffset)
        args.set_tid_size = 1
        r.store(args, at: argsOffset)
        r.store(pid, at: tidOffset)
        try r.task.traceForks(true)
        let got = try r.raw(Int32(CSYS_NR_clone3), r.addr(argsOffset), UInt64(MemoryLayout<csys_clone_args>.size))
        try r.task.traceForks(false)
        if got < 0 {
            let e = Int32(-got)
            throw EngineError("clone3 of the process sharing the address space at pid \(pid)", pid: r.pid, errno: .init(rawValue: e),
                              reason: e == EEXIST ? "pid \(pid) is in use" : nil)
        }
        guard got == Int64(pid) else { throw EngineError("clone3", pid: r.pid, reason: "asked for pid \(pid), got \(got)") }
        let host = try hostPid(parentHost: r.pid, inner: pid, ownPidNs: ownPidNs)
        let task: SeizedTask
        do { task = try SeizedTask.adoptChild(host, timeout: r.task.timeout) } catch {
            throw EngineError.wrap(error, "take over the new process", pid: host)
        }
        task.useSyscallSite(trampoline)
        return task
    }

    static let lastPidPath = "/proc/sys/kernel/ns_last_pid"

    /// The child of a parent inside vfork: the clone3 gets CLONE_VFORK too and the parent stops at its
    /// vfork event (SeizedTask.injectVforkClone3), where it stays until it is detached with its dumped
    /// registers and then sleeps until the child execs or exits. No more code runs in the parent, so its
    /// creds are already the dumped ones: with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (`privileged`) it
    /// passes set_tid; unprivileged it may not, and the pid comes from ns_last_pid instead (pid - 1,
    /// written at the clone3's syscall-entry stop; `presetLastPid` in a pid namespace of the tree's own,
    /// where only held tasks could fork). Another criu doing the same holds an flock on ns_last_pid from
    /// its write to its clone, as we do (CRIU locks the file the same way), so two restores never take
    /// each other's pid. Any other process on the host that forks in between takes the pid: that child
    /// is killed, the parent finishes its clone3 and reaps it, and the clone is tried again, a few times
    /// before the restore fails naming the pid.
    static func cloneVfork(_ r: Remote, pid: Int32, flags: UInt64, ownPidNs: Bool, privileged: Bool, trampoline: UInt64) throws -> SeizedTask {
        var args = csys_clone_args()
        args.flags = flags | UInt64(CSYS_CLONE_VM | CSYS_CLONE_VFORK)
        args.exit_signal = UInt64(SIGCHLD)
        if privileged {
            args.set_tid = r.addr(128)
            args.set_tid_size = 1
            r.store(pid, at: 128)
        }
        r.store(args, at: 0)
        let viaLastPid = !privileged && !ownPidNs
        let attempts = viaLastPid ? 8 : 1
        var attempt = 0
        while true {
            attempt += 1
            let host: Int32
            do {
                let lock = viaLastPid ? try lockLastPid() : -1
                defer { if lock >= 0 { close(lock) } }
                host = try r.task.injectVforkClone3(args: r.addr(0), size: UInt64(MemoryLayout<csys_clone_args>.size),
                                                    atEntry: viaLastPid ? { try writeLastPid(pid - 1, to: lock) } : nil)
            } catch {
                throw EngineError.wrap(error, "clone3(CLONE_VFORK) of the child at pid \(pid)", pid: r.pid)
            }
            let got = ownPidNs ? (try? Status.read(pid: host))?.nsPid.last ?? host : host
            if got == pid {
                let task: SeizedTask
                do { task = try SeizedTask.adoptChild(host, timeout: r.task.timeout) } catch {
                    throw EngineError.wrap(error, "take over the new process", pid: host)
                }
                task.useSyscallSite(trampoline)
                return task
            }
            // Our tracee from its first instruction: killed and waited for here, then the parent's
            // clone3 returns and the parent reaps it. The dead child's SIGCHLD stays pending in the parent
            // (signals are blocked while code is injected): taken again unless one was pending before
            // (restored from the images).
            let chld = UInt64(1) << UInt64(SIGCHLD - 1)
            let hadChld = ((try? Status.read(pid: r.pid).sigPendingShared) ?? 0) & chld != 0
            kill(host, SIGKILL)
            var st: Int32 = 0
            while waitpid(host, &st, __WALL) < 0 && errno == EINTR {}
            do {
                _ = try r.task.finishVforkClone()
                try r.call("wait4(\(got))", Int32(SYS_wait4), UInt64(got), 0, UInt64(__WALL), 0)
                if !hadChld {
                    r.store(chld, at: 192)
                    r.store(timespec(), at: 200)
                    try r.call("rt_sigtimedwait(SIGCHLD)", Int32(SYS_rt_sigtimedwait), r.addr(192), 0, r.addr(200), 8)
                }
            } catch {
                throw EngineError.wrap(error, "undo a clone3(CLONE_VFORK) that got pid \(got)", pid: r.pid)
            }
            if attempt == attempts {
                throw EngineError("clone3(CLONE_VFORK)", pid: r.pid,
                                  reason: "the child came out as pid \(got), not \(pid), \(attempts) times: other processes keep taking the pid; try again")
            }
        }
    }

    /// Whether creds let their holder pass clone3's set_tid: CAP_SYS_ADMIN (21) or CAP_CHECKPOINT_RESTORE
    /// (40) effective (the tree is in criu's user namespace).
    static func maySetTid(_ c: CredsEntry) -> Bool {
        let eff = (c.capEff.count > 0 ? UInt64(c.capEff[0]) : 0) | (c.capEff.count > 1 ? UInt64(c.capEff[1]) << 32 : 0)
        return eff & (1 << 21 | 1 << 40) != 0
    }

    /// An fd of ns_last_pid holding an exclusive flock, for the span from writing it (through this fd)
    /// to the clone that uses it; closing the fd releases it.
    static func lockLastPid() throws -> Int32 {
        let fd = csys_open(lastPidPath, O_WRONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open", path: lastPidPath, errno: .init(rawValue: errno)) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = errno
            close(fd)
            throw EngineError("lock", path: lastPidPath, errno: .init(rawValue: e))
        }
        return fd
    }

    /// ns_last_pid of criu's own pid namespace, through the fd `lockLastPid` returned.
    static func writeLastPid(_ v: Int32, to fd: Int32) throws {
        let text = Array(String(v).utf8)
        guard write(fd, text, text.count) == text.count else { throw EngineError("write \(v)", path: lastPidPath, errno: .init(rawValue: errno)) }
    }

    /// ns_last_pid of the pid namespace of the task `r` runs in, written by that task while it still has
    /// criu's privileges.
    static func presetLastPid(_ r: Remote, _ v: Int32) throws {
        r.storeBytes(Array(lastPidPath.utf8) + [0], at: 0)
        let text = Array(String(v).utf8)
        r.storeBytes(text, at: 64)
        let fd = try r.call("open(\(lastPidPath))", Int32(SYS_open), r.addr(0), UInt64(O_WRONLY | O_CLOEXEC))
        defer { _ = try? r.call("close", Int32(SYS_close), UInt64(fd)) }
        let n = try r.call("write(\(lastPidPath), \(v))", Int32(SYS_write), UInt64(fd), r.addr(64), UInt64(text.count))
        guard n == text.count else { throw EngineError("write \(v)", pid: r.pid, path: lastPidPath, reason: "short write") }
    }

    /// The sharer's own fd table from the copy of its parent's: every image fd is the description its
    /// parent holds under the same file id; the rest of the copy is closed.
    static func placeFds(_ r: Remote, fdinfo: [FdinfoEntry], parentFds: [UInt32: Int32]) throws {
        let current = (try? ProcFile.listNumbers("/proc/\(r.pid)/fd")) ?? []
        let floor = UInt64((current + fdinfo.map { Int32(bitPattern: $0.fd) }).max() ?? 0) + 1
        var moves: [(fd: UInt32, tmp: Int64, cloexec: Bool)] = []
        for e in fdinfo {
            guard let src = parentFds[e.id] else {
                throw EngineError("place fd", pid: r.pid, fd: Int32(bitPattern: e.fd), reason: "its parent holds no fd of file id \(e.id)")
            }
            let tmp = try r.call("fcntl(\(src), F_DUPFD_CLOEXEC)", Int32(SYS_fcntl), UInt64(src), UInt64(F_DUPFD_CLOEXEC), floor)
            moves.append((e.fd, tmp, e.flags & UInt32(FD_CLOEXEC) != 0))
        }
        for fd in current { try r.call("close(\(fd))", Int32(SYS_close), UInt64(fd)) }
        for m in moves {
            try r.call("dup3(\(m.tmp), \(m.fd))", Int32(SYS_dup3), UInt64(m.tmp), UInt64(m.fd), m.cloexec ? UInt64(O_CLOEXEC) : 0)
            try r.call("close(\(m.tmp))", Int32(SYS_close), UInt64(m.tmp))
        }
    }

    /// Session, group, umask and cwd: the clone copied its parent's; set what differs. The root cannot
    /// differ (a chroot of its own would resolve the dumped path inside the parent's root): refused.
    static func placeTaskBits(_ r: Remote, _ c: ImageSet, parent p: ImageSet, sharesFs: Bool) throws {
        let pid = c.pid
        if c.pstree.sid == c.pstree.pid {
            try r.call("setsid", Int32(SYS_setsid))
        } else if c.pstree.pgid != p.pstree.pgid {
            try r.call("setpgid(0, \(c.pstree.pgid))", Int32(SYS_setpgid), 0, UInt64(c.pstree.pgid))
        }
        guard !sharesFs else { return }
        try r.call("umask", Int32(SYS_umask), UInt64(c.fs.hasUmask ? c.fs.umask : 0o022))
        let root = c.files[c.fs.rootID]?.reg.name ?? "/", parentRoot = p.files[p.fs.rootID]?.reg.name ?? "/"
        guard root == parentRoot else {
            throw EngineError("restore", pid: pid, reason: "has root \(root), its parent \(p.pid) has \(parentRoot); a process sharing its parent's address space must share its root too")
        }
        let cwd = c.files[c.fs.cwdID]?.reg.name ?? "/", parentCwd = p.files[p.fs.cwdID]?.reg.name ?? "/"
        guard cwd != parentCwd else { return }
        // Paths are recorded as criu sees them; the task resolves them inside its root.
        var inside = cwd
        if root != "/" {
            guard cwd == root || cwd.hasPrefix(root + "/") else {
                throw EngineError("restore", pid: pid, path: cwd, reason: "cwd is outside its root \(root)")
            }
            inside = cwd == root ? "/" : String(cwd.dropFirst(root.count))
        }
        let bytes = Array(inside.utf8) + [0]
        guard bytes.count < 2048 else { throw EngineError("chdir", pid: pid, path: cwd, reason: "path too long") }
        r.storeBytes(bytes, at: 0)
        try r.call("chdir(\(inside))", Int32(SYS_chdir), r.addr(0))
    }
}
