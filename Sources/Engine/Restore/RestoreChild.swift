import Glibc
import CSys
import Images

/// What the forked child prepares from inside before the restorer takes it over: session, umask, cwd and
/// root, every fd at its number, the fds the restorer needs (pages image, exe, mapped files) and a
/// trampoline holding `syscall; int3` (and the restorer's scratch pages) in a hole of the dumped layout.
struct ChildPlan {
    var sid: Int32
    var pgid: Int32
    var pid: Int32
    var umask: UInt32
    var cwd: String
    var root: String
    /// (fd number, file entry, close-on-exec)
    var fds: [(fd: Int32, file: FileEntry, cloexec: Bool)]
    var pagesPath: String
    var exePath: String
    /// file id -> (path, open flags) for file-backed VMAs
    var mappedFiles: [UInt32: (path: String, flags: Int32)]
    var trampolineCandidates: [UInt64]
    /// Indices (in the plan list) of the children this task forks.
    var children: [Int] = []
    /// file id -> the parent's fd number, for files inherited from the parent (one shared description).
    var inherited: [UInt32: Int32] = [:]
    /// shmids of the shared anonymous memory this task maps.
    var shmids: Set<UInt64> = []
    /// A zombie: the core it dies with right after it is forked (wait status, name, ids, signals).
    var zombie: CoreEntry? = nil
    var zombieStatus: Int32? { zombie.map { Int32(bitPattern: $0.tc.exitCode) } }
    /// pipe data, ghost files and other images the file kinds need
    var fileImages = FileImages()
    /// file id -> (memfd inode id, open flags) for memfd-backed VMAs (MemfdMapping)
    var mappedMemfds: [UInt32: (inode: UInt32, flags: Int32)] = [:]
    /// A helper standing in for a dead session or group leader (Helpers.swift); not a dumped task.
    var helper: HelperKind? = nil
    /// Forked by the session helper at this pid; the task belongs to its dumped parent once it exits.
    var helperParent: Int32? = nil
    /// Extra clone flags the parent forks this task with (CLONE_FS: it shares the parent's fs).
    var cloneFlags: UInt64 = 0
    var sharesParentFs: Bool { cloneFlags & UInt64(CSYS_CLONE_FS) != 0 }
    /// CLONE_FILES: the task's fd table is its parent's (SharedFdTable); it places no fds of its own.
    var sharesParentFiles: Bool { cloneFlags & UInt64(CSYS_CLONE_FILES) != 0 }
    /// First holder of a shared fd table: how many tasks below share it. A sharer: where it says it is done.
    var tableSharers = 0
    var tableDoneFd: Int32 = -1
    var tableFaults: Faults? = nil
    /// Shares its parent's address space (CLONE_VM): not forked here but cloned by the restorer in the
    /// parent once the parent's memory is back (SharedMm).
    var sharesParentVm: Bool { cloneFlags & UInt64(CSYS_CLONE_VM) != 0 }
}

/// What the child reports back through the pipe.
struct ChildReport {
    var trampoline: UInt64 = 0
    var memfd: Int32 = -1
    var pagesFd: Int32 = -1
    var exeFd: Int32 = -1
    var mappedFds: [UInt32: Int32] = [:]
    /// shmid -> fd of the shared anonymous memory object
    var shmemFds: [UInt64: Int32] = [:]

    /// The restore-time fds the task keeps until its rebuild closes them.
    var ownFds: [Int32] { [pagesFd, exeFd, memfd] + Array(mappedFds.values) + Array(shmemFds.values) }

    func encode() -> String {
        var s = "OK \(trampoline) \(memfd) \(pagesFd) \(exeFd)"
        for (id, fd) in mappedFds { s += " \(id):\(fd)" }
        for (id, fd) in shmemFds { s += " s\(id):\(fd)" }
        return s
    }

    static func decode(_ s: String) -> ChildReport? {
        let w = s.split(separator: " ")
        guard w.count >= 5, w[0] == "OK", let t = UInt64(w[1]), let m = Int32(w[2]), let p = Int32(w[3]), let e = Int32(w[4])
        else { return nil }
        var r = ChildReport(trampoline: t, memfd: m, pagesFd: p, exeFd: e)
        for kv in w.dropFirst(5) {
            if kv.hasPrefix("s") {
                let p = kv.dropFirst().split(separator: ":")
                guard p.count == 2, let id = UInt64(p[0]), let fd = Int32(p[1]) else { return nil }
                r.shmemFds[id] = fd
                continue
            }
            let p = kv.split(separator: ":")
            guard p.count == 2, let id = UInt32(p[0]), let fd = Int32(p[1]) else { return nil }
            r.mappedFds[id] = fd
        }
        return r
    }
}

/// A zombie's caught signals need some handler; it never runs.
private let zombieHandler: @convention(c) (Int32) -> Void = { _ in }

enum RestoreChild {
    static let mapFixedNoreplace: Int32 = 0x100000
    static let RLIMIT_NOFILE_ = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    /// Runs in each restored task right after clone3; never returns. `plans` holds the whole tree; the
    /// task sets its session or group, puts its fds in place (inherited ones first), forks its own
    /// children, prepares what the restorer needs and reports one line "PID OK ..." or "PID ERR ...".
    /// `shared`: the objects the whole tree shares (shared memory, pipes), at this task's fd numbers.
    static func run(_ plans: [ChildPlan], _ index: Int, reportFd: Int32, shared: TreeObjects) -> Never {
        let plan = plans[index]
        var fd = reportFd
        if let z = plan.zombie {
            if !plan.children.isEmpty {
                // A dead session leader's members were forked by it: so are theirs now, before it dies.
                _ = csys_prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
                if plan.sid == plan.pid && setsid() < 0 { _exit(125) }
                do { try forkChildren(plans, plan, reportFd: reportFd, shared: shared) } catch { _exit(125) }
            }
            becomeZombie(z)
        }
        if plan.helper != nil {
            TreeHelpers.run(plan) { try forkChildren(plans, plan, reportFd: reportFd, shared: shared) }
        }
        do {
            if let h = plan.helperParent { try TreeHelpers.awaitReparent(from: h) }
            _ = csys_prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
            var objects = shared
            let targets = try setup(plan, isRoot: index == 0, reportFd: &fd, shared: &objects)
            var tree = plans
            let table = try SharedFdTable.openDonePipe(&tree, index, targets: targets)
            try forkChildren(tree, plan, reportFd: fd, shared: objects)
            try TtyCtty.foreground(plan.fds, plan.fileImages)
            // A shared fd table is cleaned up once, by its first holder, after every sharer prepared.
            let others = try table.map { try SharedFdTable.waitForSharers(plan, pipe: $0) } ?? []
            let report = try prepare(plan, reportFd: fd, targets: targets, shared: objects, alsoKeep: others)
            // criu's handlers are no business of the task; from the pristine default the restorer only sets
            // the dumped actions that differ, not all 62 (Signals.restoreActions).
            try Signals.resetActions()
            send(fd, "\(plan.pid) " + report.encode() + "\n")
            close(fd)
            if plan.sharesParentFiles { SharedFdTable.tellDone(plan, keeps: report.ownFds) }
        } catch {
            send(fd, String("\(plan.pid) ERR \(error)".map { $0 == "\n" ? " " : $0 }) + "\n")
            SharedFdTable.tellFailed(plan)
            _exit(1)
        }
        while true { pause() }
    }

    /// The root, born in fresh namespaces, makes them match the images before it forks anyone; a failure
    /// is its report line.
    static func enterNamespaces(_ ns: NamespaceImages, pid: Int32, reportFd: Int32, faults: Faults,
                                deadPidfds: [UInt32: Int32]) {
        do {
            try NamespaceRestore.prepareInside(ns)
            if ns.ownPidNs { try NamespaceRestore.remakeDeadPidfds(deadPidfds) }
            try faults.check(.restoreAfterNamespaces)
        } catch {
            send(reportFd, String("\(pid) ERR \(error)".map { $0 == "\n" ? " " : $0 }) + "\n")
            _exit(1)
        }
    }

    /// Dies as the dumped zombie: name, signal dispositions, ids, then the exit code or the signal that
    /// killed it (sent to the process when it was pending for the process, else to the thread).
    private static func becomeZombie(_ core: CoreEntry) -> Never {
        let status = Int32(bitPattern: core.tc.exitCode)
        let sig = status & 0x7f
        var name = Array(core.tc.comm.utf8.prefix(15)) + [0]
        _ = name.withUnsafeMutableBytes { csys_prctl(PR_SET_NAME, UInt(bitPattern: $0.baseAddress), 0, 0, 0) }
        for (s, e) in zip(Signals.catchable, core.tc.sigactions) where s != sig {
            signal(s, e.sigaction == 2 ? zombieHandler : e.sigaction == 1 ? SIG_IGN : SIG_DFL)
        }
        if core.hasThreadCore && core.threadCore.hasCreds {
            let c = core.threadCore.creds
            _ = c.groups.withUnsafeBufferPointer { setgroups($0.count, $0.baseAddress) }
            _ = setregid(c.gid, c.egid)
            _ = setreuid(c.uid, c.euid)
        }
        var set = sigset_t()
        sigemptyset(&set)
        for s in 1...Signals.maxSignal where s != sig && core.tc.blkSigset & (UInt64(1) << UInt64(s - 1)) != 0 {
            sigaddset(&set, s)
        }
        sigprocmask(SIG_SETMASK, &set, nil)
        if sig != 0 {
            signal(sig, SIG_DFL)
            let shared = core.tc.signalsS.signals.contains { $0.siginfo.count >= 4 && Int32($0.siginfo[0]) == sig }
            if shared { kill(getpid(), sig) } else { _ = csys_tgkill(getpid(), getpid(), sig) }
        }
        _exit((status >> 8) & 0xff)
    }

    /// Forks every child at its pid (clone3 set_tid). A child that is not a session leader gets its
    /// process group from us once all siblings exist (group leaders first), since a group's leader may be
    /// a later sibling.
    private static func forkChildren(_ plans: [ChildPlan], _ plan: ChildPlan, reportFd: Int32, shared: TreeObjects) throws {
        // Members of a session whose leader is gone come back to us when its helper (or the zombie
        // leader) exits.
        if plan.children.contains(where: { plans[$0].helper == .session || (plans[$0].zombie != nil && !plans[$0].children.isEmpty) }) {
            _ = csys_prctl(Restorer.prSetChildSubreaper, 1, 0, 0, 0)
        }
        for ci in plan.children where !plans[ci].sharesParentVm {
            let childReport = plans[ci].sharesParentFiles ? try SharedFdTable.reportFd(reportFd, for: plan) : reportFd
            let ret = forkAtPid(plans[ci].pid, flags: plans[ci].cloneFlags)
            if ret == 0 { run(plans, ci, reportFd: childReport, shared: shared) }
            if ret < 0 {
                let e = errno
                throw EngineError("clone3 child at pid \(plans[ci].pid)", errno: .init(rawValue: e),
                                  reason: e == EEXIST ? "pid \(plans[ci].pid) is in use" : nil)
            }
        }
        let kids = plan.children.map { plans[$0] }.filter { $0.zombieStatus == nil && $0.sid != $0.pid && !$0.sharesParentVm }
        for c in kids.filter({ $0.pgid == $0.pid }) + kids.filter({ $0.pgid != $0.pid }) where getpgid(c.pid) != c.pgid {
            if setpgid(c.pid, c.pgid) < 0 {
                throw EngineError("setpgid(\(c.pid), \(c.pgid))", errno: .init(rawValue: errno),
                                  reason: "the group's leader is not a restored ancestor or sibling in this session")
            }
        }
        try TreeHelpers.finish(plans, plan)
    }

    private static func send(_ fd: Int32, _ text: String) {
        var t = text
        t.withUTF8 { b in _ = write(fd, b.baseAddress, b.count) }
    }

    private static func fail(_ what: String, _ path: String? = nil) -> EngineError {
        EngineError(what, path: path, errno: .init(rawValue: errno))
    }

    /// Session, group, umask and every fd at its number, before the children are forked so that they
    /// inherit what they share with us. Returns the fd numbers the task must keep.
    static func setup(_ plan: ChildPlan, isRoot: Bool, reportFd: inout Int32, shared: inout TreeObjects) throws -> Set<Int32> {
        if plan.sid == plan.pid {
            if getsid(0) != plan.pid && setsid() < 0 { throw fail("setsid") }
        } else if isRoot {
            // The root stays in criu's session (a shell job); it can only lead a group of its own.
            if plan.pgid == plan.pid && setpgid(0, 0) < 0 { throw fail("setpgid") }
        } else {
            // Our own children must inherit our group, so we are in it before we fork them. We join it
            // ourselves as soon as it exists (a leader makes its own at once); our parent sets it too, but
            // only after forking all our siblings: with 1000 children each leading a group, the first ones
            // waited longer than the old limit of 20,000 polls and the restore failed.
            let deadline = Clock.micros() + 60_000_000
            var naps = 0
            while getpgid(0) != plan.pgid {
                if setpgid(0, plan.pgid) == 0 { break }
                if Clock.micros() > deadline { throw EngineError("join process group \(plan.pgid)", reason: "parent did not set it") }
                naps += 1
                usleep(naps < 100 ? 100 : 1000)
            }
        }
        if !plan.sharesParentFs { _ = umask(mode_t(plan.umask)) }

        let targets = Set(plan.fds.map(\.fd))
        // The parent placed the table's fds (and this task's report fd) already: it is this table.
        if plan.sharesParentFiles {
            try TtyCtty.acquire(plan.fds, plan.fileImages)
            return targets
        }
        // The task's own limits come back later; its fds may sit anywhere below our hard limit.
        var nofile = rlimit()
        if getrlimit(RLIMIT_NOFILE_, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max {
            nofile.rlim_cur = nofile.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_, &nofile)
        }
        let spare = SpareFds(targets: targets)
        reportFd = try spare.park(reportFd, "report pipe")
        try shared.park(spare)
        // Files inherited from the parent are taken from its fd numbers before anything is put in place.
        var inherited: [UInt32: Int32] = [:]
        for (id, pfd) in plan.inherited {
            let n = csys_fcntl(pfd, F_DUPFD_CLOEXEC, 0)
            guard n >= 0 else { throw fail("take inherited fd \(pfd)") }
            inherited[id] = try spare.park(n, "inherited fd \(pfd)")
        }
        for f in plan.fds where inherited[f.file.id] == nil {
            guard let sfd = shared.files[f.file.id] else { continue }
            let n = csys_fcntl(sfd, F_DUPFD_CLOEXEC, 0)
            guard n >= 0 else { throw fail("take shared file \(f.file.id)") }
            inherited[f.file.id] = try spare.park(n, "shared file \(f.file.id)")
        }
        var images = plan.fileImages
        images.sharedPipes = shared.pipes
        images.sharedMemfds = shared.memfds
        images.deadPidfds = shared.deadPidfds
        try FdPlacement.place(plan.fds, images: images, spare: spare, inherited: inherited)
        try TtyCtty.acquire(plan.fds, images)
        return targets
    }

    /// What the restorer needs from inside: helper fds, cwd and root, the trampoline; then everything
    /// criu had open is closed, but for `alsoKeep` (those of the tasks sharing our fd table). A task
    /// sharing its parent's table closes nothing: its first holder does (SharedFdTable).
    static func prepare(_ plan: ChildPlan, reportFd: Int32, targets: Set<Int32>, shared: TreeObjects,
                        alsoKeep: Set<Int32> = []) throws -> ChildReport {
        let spare = SpareFds(targets: targets)
        var report = ChildReport()
        for id in plan.shmids {
            guard let fd = shared.shmem[id] else { throw EngineError("map shared memory", reason: "no object for shmid \(id)") }
            // Our own dup: the rebuild closes it, and tasks sharing one fd table must not close one fd twice.
            let n = csys_fcntl(fd, F_DUPFD_CLOEXEC, 0)
            guard n >= 0 else { throw fail("dup shared memory \(id)") }
            report.shmemFds[id] = try spare.park(n, "shared memory \(id)")
        }
        report.pagesFd = try openHelper(plan.pagesPath, O_RDONLY, spare)
        report.exeFd = try openHelper(plan.exePath, O_RDONLY, spare)
        for (id, f) in plan.mappedFiles { report.mappedFds[id] = try openHelper(f.path, f.flags, spare) }
        for (id, m) in plan.mappedMemfds {
            guard let fd = shared.memfds[m.inode] else { throw EngineError("map memfd file \(id)", reason: "no memfd for inode \(m.inode)") }
            report.mappedFds[id] = try openHelper("/proc/self/fd/\(fd)", m.flags, spare)
        }

        if !plan.sharesParentFs {
            if chdir(plan.cwd) < 0 { throw fail("chdir", plan.cwd) }
            if plan.root != "/" && chroot(plan.root) < 0 { throw fail("chroot", plan.root) }
        }

        let memfd = csys_sys_memfd_create("criu-restorer", CSYS_MFD_CLOEXEC)
        guard memfd >= 0 else { throw fail("memfd_create") }
        report.memfd = try spare.park(memfd, "restorer memfd")
        let areaSize = Int(MemoryRestore.areaSize)
        guard ftruncate(report.memfd, off_t(areaSize)) == 0 else { throw fail("ftruncate restorer memfd") }
        for hint in plan.trampolineCandidates {
            let p = mmap(UnsafeMutableRawPointer(bitPattern: UInt(hint)), areaSize, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_SHARED | mapFixedNoreplace, report.memfd, 0)
            if let p, p != UnsafeMutableRawPointer(bitPattern: -1), UInt64(UInt(bitPattern: p)) == hint {
                let code: [UInt8] = [0x0f, 0x05, 0xcc]
                for (i, b) in code.enumerated() { p.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
                report.trampoline = hint
                break
            }
        }
        guard report.trampoline != 0 else {
            throw EngineError("map restorer trampoline", reason: "no free hole among \(plan.trampolineCandidates.count) candidates")
        }

        // Whatever criu itself had open must not leak into the restored task.
        if plan.sharesParentFiles { return report }
        let keep = targets.union([reportFd]).union(report.ownFds).union(alsoKeep)
        for fd in (try? ProcFile.listNumbers("/proc/self/fd")) ?? [] where !keep.contains(fd) {
            close(fd)
        }
        return report
    }

    private static func openHelper(_ path: String, _ flags: Int32, _ spare: SpareFds) throws -> Int32 {
        let fd = csys_open(path, flags | O_CLOEXEC, 0)
        guard fd >= 0 else { throw fail("open", path) }
        return try spare.park(fd, path)
    }
}
