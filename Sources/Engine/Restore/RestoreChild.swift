import Glibc
import CSys
import Images

/// What the forked child prepares from inside before the restorer takes it over: session, umask, cwd and
/// root, every fd at its number, the fds the restorer needs (pages image, exe, mapped files) and a
/// one-page trampoline holding `syscall; int3` in a hole of the dumped layout.
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
    /// pipe data, ghost files and other images the file kinds need
    var fileImages = FileImages()
}

/// What the child reports back through the pipe.
struct ChildReport {
    var trampoline: UInt64 = 0
    var memfd: Int32 = -1
    var pagesFd: Int32 = -1
    var exeFd: Int32 = -1
    var mappedFds: [UInt32: Int32] = [:]

    func encode() -> String {
        var s = "OK \(trampoline) \(memfd) \(pagesFd) \(exeFd)"
        for (id, fd) in mappedFds { s += " \(id):\(fd)" }
        return s
    }

    static func decode(_ s: String) -> ChildReport? {
        let w = s.split(separator: " ")
        guard w.count >= 5, w[0] == "OK", let t = UInt64(w[1]), let m = Int32(w[2]), let p = Int32(w[3]), let e = Int32(w[4])
        else { return nil }
        var r = ChildReport(trampoline: t, memfd: m, pagesFd: p, exeFd: e)
        for kv in w.dropFirst(5) {
            let p = kv.split(separator: ":")
            guard p.count == 2, let id = UInt32(p[0]), let fd = Int32(p[1]) else { return nil }
            r.mappedFds[id] = fd
        }
        return r
    }
}

enum RestoreChild {
    static let mapFixedNoreplace: Int32 = 0x100000
    static let RLIMIT_NOFILE_ = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    /// Runs in the child right after clone3; never returns.
    static func run(_ plan: ChildPlan, reportFd: Int32) -> Never {
        var fd = reportFd
        do {
            _ = csys_prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
            let report = try prepare(plan, reportFd: &fd)
            send(fd, report.encode())
        } catch {
            send(fd, "ERR \(error)")
            _exit(1)
        }
        close(fd)
        while true { pause() }
    }

    private static func send(_ fd: Int32, _ text: String) {
        var t = text
        t.withUTF8 { b in _ = write(fd, b.baseAddress, b.count) }
    }

    private static func fail(_ what: String, _ path: String? = nil) -> EngineError {
        EngineError(what, path: path, errno: .init(rawValue: errno))
    }

    static func prepare(_ plan: ChildPlan, reportFd: inout Int32) throws -> ChildReport {
        if plan.sid == plan.pid {
            if setsid() < 0 { throw fail("setsid") }
        } else if plan.pgid == plan.pid {
            if setpgid(0, 0) < 0 { throw fail("setpgid") }
        }
        _ = umask(mode_t(plan.umask))

        let targets = Set(plan.fds.map(\.fd))
        // The task's own limits come back later; its fds may sit anywhere below our hard limit.
        var nofile = rlimit()
        if getrlimit(RLIMIT_NOFILE_, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max {
            nofile.rlim_cur = nofile.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_, &nofile)
        }
        let spare = SpareFds(targets: targets)
        reportFd = try spare.park(reportFd, "report pipe")
        try FdPlacement.place(plan.fds, images: plan.fileImages, spare: spare)

        var report = ChildReport()
        report.pagesFd = try openHelper(plan.pagesPath, O_RDONLY, spare)
        report.exeFd = try openHelper(plan.exePath, O_RDONLY, spare)
        for (id, f) in plan.mappedFiles { report.mappedFds[id] = try openHelper(f.path, f.flags, spare) }

        if chdir(plan.cwd) < 0 { throw fail("chdir", plan.cwd) }
        if plan.root != "/" && chroot(plan.root) < 0 { throw fail("chroot", plan.root) }

        let memfd = csys_sys_memfd_create("criu-restorer", CSYS_MFD_CLOEXEC)
        guard memfd >= 0 else { throw fail("memfd_create") }
        report.memfd = try spare.park(memfd, "restorer memfd")
        guard ftruncate(report.memfd, 4096) == 0 else { throw fail("ftruncate restorer memfd") }
        for hint in plan.trampolineCandidates {
            let p = mmap(UnsafeMutableRawPointer(bitPattern: UInt(hint)), 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
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
        let keep = targets.union([reportFd, report.pagesFd, report.exeFd, report.memfd]).union(report.mappedFds.values)
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
