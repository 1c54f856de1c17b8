import Glibc
import CSys
import Images

/// pidfds (pidfd_open, clone with CLONE_PIDFD) to tasks of the dumped tree, zombies included. The
/// target may be forked after the task holding the pidfd (its own child), so the forked child only
/// keeps the fd number (a /dev/null placeholder); once the whole tree exists and the task is rebuilt,
/// the restorer injects pidfd_open into it and dup3's the result over every number of that file. A
/// pidfd file that a task rebuilt earlier holds too (inherited across fork) is taken from that task
/// with an injected pidfd_getfd instead, so the tasks share one description again.
/// A pidfd to a process already reaped (Pid -1) needs no target: the restorer makes one of a helper
/// that exited and was reaped before the tree is forked, and the tasks inherit it (TreeObjects). A
/// pidfd to a process outside the tree cannot point at the same process after restore: the dump
/// refuses it.
enum PidfdFile: FileKind {
    static let type = FdTypes.pidfd
    static let name = "pidfd"
    /// PIDFD_THREAD (a pidfd to one thread) is O_EXCL in f_flags.
    static let pidfdThread = UInt32(O_EXCL)

    static func matches(_ fd: OpenFd) -> Bool { fd.target == .anonInode("pidfd") }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        guard let s = fd.info.value("Pid"), let pid = Int32(s[...].trimmingSpaces()) else {
            throw EngineError("dump pidfd", pid: fd.pid, fd: fd.fd, reason: "fdinfo has no Pid line")
        }
        guard pid == -1 || context.treeIds.contains(pid) else {
            throw EngineError("dump", pid: fd.pid, fd: fd.fd,
                              reason: "pidfd to pid \(pid), which is outside the dumped tree (restore could not point it at the same process)")
        }
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var p = PidfdEntry()
        p.id = context.newId()
        p.ino = UInt32(truncatingIfNeeded: fd.info.ino)
        p.flags = fd.info.flags & ~UInt32(O_CLOEXEC | O_RDWR)
        // fdinfo shows the pid in our pid namespace; the task reopens it by the pid it sees.
        p.nspid = pid == -1 ? -1 : TreePids.innerPid(pid)
        p.fown = try FileOwner.dump(local, fd: fd)
        if p.fown.pid != 0 || p.fown.signum != 0 {
            throw EngineError("dump", pid: fd.pid, fd: fd.fd, reason: "pidfd with F_SETOWN/F_SETSIG is not supported")
        }
        var f = FileEntry()
        f.type = .pidfd
        f.id = p.id
        f.pidfd = p
        context.add(f)
        return p.id
    }

    /// A placeholder at the fd's numbers until `reopen` puts the real pidfd there.
    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        if f.pidfd.nspid == -1 {
            guard let dead = context.images.deadPidfds[f.id] else { throw EngineError("restore pidfd \(f.id)", reason: "no pidfd of a reaped helper") }
            let fd = csys_fcntl(dead, F_DUPFD_CLOEXEC, 0)
            guard fd >= 0 else { throw EngineError("dup pidfd \(f.id) of a reaped helper", errno: .init(rawValue: errno)) }
            try FileOwner.restore(fd, f.pidfd.fown, flags: f.pidfd.flags)
            return fd
        }
        let fd = csys_open("/dev/null", O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open /dev/null as placeholder for pidfd to \(f.pidfd.nspid)", errno: .init(rawValue: errno)) }
        return fd
    }

    /// Runs pidfd_open in the seized, rebuilt task for each pidfd file it holds and moves the result over
    /// the placeholders, keeping each number's close-on-exec flag.
    static func reopen(_ r: Remote, fdinfo: [FdinfoEntry], files: [UInt32: FileEntry], holders: Holders) throws {
        var byId: [UInt32: [FdinfoEntry]] = [:]
        for e in fdinfo where files[e.id]?.type == .pidfd && files[e.id]!.pidfd.nspid != -1 { byId[e.id, default: []].append(e) }
        for (id, fds) in byId.sorted(by: { $0.key < $1.key }) {
            let p = files[id]!.pidfd
            let n: Int64
            if let h = holders.first[id] {
                let holder = try r.call("pidfd_open(\(h.pid)) of the task holding pidfd \(id)", Int32(CSYS_NR_pidfd_open),
                                        UInt64(UInt32(bitPattern: h.pid)), 0)
                let got = try r.raw(Int32(CSYS_NR_pidfd_getfd), UInt64(holder), UInt64(h.fd), 0)
                try r.call("close", Int32(SYS_close), UInt64(holder))
                guard got >= 0 else {
                    throw EngineError("injected pidfd_getfd(pid \(h.pid), fd \(h.fd))", pid: r.pid, errno: .init(rawValue: Int32(-got)))
                }
                n = got
            } else {
                n = try r.call("pidfd_open(\(p.nspid), \(p.flags))", Int32(CSYS_NR_pidfd_open), UInt64(UInt32(bitPattern: p.nspid)),
                               UInt64(p.flags & (UInt32(O_NONBLOCK) | pidfdThread)))
                holders.first[id] = (TreePids.innerPid(r.pid), Int32(bitPattern: fds[0].fd))
            }
            for e in fds {
                try r.call("dup3 pidfd to fd \(e.fd)", Int32(SYS_dup3), UInt64(n), UInt64(e.fd),
                           e.flags & UInt32(FD_CLOEXEC) != 0 ? UInt64(O_CLOEXEC) : 0)
            }
            try r.call("close", Int32(SYS_close), UInt64(n))
        }
    }

    /// A pidfd whose process is gone: a child that exits at once, opened and then reaped here, so its pid
    /// is free again and the pidfd reads as a reaped process's. Serves the host restore (before the tree
    /// is forked) and the pid namespace's init (which remakes them inside its own namespace).
    static func pidfdOfReapedHelper() throws -> Int32 {
        let child = fork()
        if child == 0 { _exit(0) }
        guard child > 0 else { throw EngineError("fork a helper for a pidfd to a reaped process", errno: .init(rawValue: errno)) }
        let fd = csys_sys_pidfd_open(child, 0)
        let e = errno
        var st: Int32 = 0
        while waitpid(child, &st, 0) < 0 && errno == EINTR {}
        guard fd >= 0 else { throw EngineError("pidfd_open", pid: child, errno: .init(rawValue: e)) }
        return fd
    }

    /// For each pidfd entry to a reaped process: a pidfd of a reaped helper, made before the tree is
    /// forked, kept high.
    static func deadPidfds(_ files: [UInt32: FileEntry], floor: Int32) throws -> [UInt32: Int32] {
        var out: [UInt32: Int32] = [:]
        do {
            for (id, f) in files.sorted(by: { $0.key < $1.key }) where f.type == .pidfd && f.pidfd.nspid == -1 {
                let fd = try pidfdOfReapedHelper()
                let high = csys_fcntl(fd, F_DUPFD_CLOEXEC, Int(floor))
                close(fd)
                guard high >= 0 else { throw EngineError("move pidfd \(id)", errno: .init(rawValue: errno)) }
                out[id] = high
            }
        } catch {
            out.values.forEach { close($0) }
            throw error
        }
        return out
    }

    /// pidfd file id -> the first restored task holding it and one of its fd numbers there.
    final class Holders {
        var first: [UInt32: (pid: Int32, fd: Int32)] = [:]
        init() {}
    }
}
