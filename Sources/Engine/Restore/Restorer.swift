import Glibc
import CSys
import Compel
import Images
import Logging

/// Restores one process from an images directory: read and check every image, fork a child at the dumped
/// pid, let it open its files, then rebuild its memory and state from outside and let it go. Any failure
/// kills the child: nothing is left behind.
public struct Restorer {
    public let options: RestoreOptions
    let log: Logger

    public init(options: RestoreOptions, logger: Logger) {
        self.options = options
        self.log = logger
    }

    /// Returns the pid of the restored, running task (our child).
    public func run() throws -> Int32 {
        let t0 = Clock.micros()
        let dir = ImageDir(path: options.imagesDir)
        let images = try ImageSet.read(dir)
        try options.faults.check(.restoreAfterRead)
        let pid = images.pid
        if access("/proc/\(pid)", F_OK) == 0 {
            throw EngineError("restore", pid: pid,
                              reason: "pid \(pid) is in use; restore into a fresh pid namespace (zdtm flavor ns) or free it")
        }
        var plan = try childPlan(images)
        plan.fileImages.shellJob = options.shellJob
        let forkStart = Clock.micros()
        let (child, report) = try fork(images, plan)
        let forked = Clock.micros()
        do {
            try options.faults.check(.restoreAfterFork)
            let pages = try rebuild(child, images, report)
            writeStats(dir, forking: forked - forkStart, total: Clock.micros() - t0, pages: pages)
        } catch {
            kill(child, SIGKILL)
            var st: Int32 = 0
            while waitpid(child, &st, __WALL) < 0 && errno == EINTR {}
            throw error
        }
        return child
    }

    private func path(_ images: ImageSet, _ id: UInt32) -> String { images.files[id]?.reg.name ?? "" }

    private func childPlan(_ images: ImageSet) throws -> ChildPlan {
        var mapped: [UInt32: (String, Int32)] = [:]
        for v in images.mm.vmas where v.status & (VmaStatus.filePrivate | VmaStatus.fileShared) != 0 {
            let id = UInt32(truncatingIfNeeded: v.shmid)
            mapped[id] = (path(images, id), Int32(bitPattern: v.hasFdflags ? v.fdflags : UInt32(O_RDONLY)))
        }
        return ChildPlan(
            sid: Int32(bitPattern: images.pstree.sid), pgid: Int32(bitPattern: images.pstree.pgid), pid: images.pid,
            umask: images.fs.hasUmask ? images.fs.umask : 0o022,
            cwd: path(images, images.fs.cwdID), root: path(images, images.fs.rootID),
            fds: images.fdinfo.map { (Int32(bitPattern: $0.fd), images.files[$0.id]!, $0.flags & UInt32(FD_CLOEXEC) != 0) },
            pagesPath: images.pagesPath, exePath: path(images, images.mm.exeFileID),
            mappedFiles: mapped, trampolineCandidates: Self.holes(images.mm.vmas), fileImages: images.fileImages)
    }

    /// Page addresses that no dumped VMA covers, highest gaps first: the trampoline goes in the first one
    /// that is free in the child too. Each sits 16 pages above the VMA below it, well clear of the next one.
    static func holes(_ vmas: [VmaEntry]) -> [UInt64] {
        let page = MemoryRestore.page
        var bounds: [(UInt64, UInt64)] = []
        var prevEnd: UInt64 = 0x100000
        for v in vmas where v.status & VmaStatus.vsyscall == 0 {
            if v.start > prevEnd { bounds.append((prevEnd, v.start)) }
            prevEnd = max(prevEnd, v.end)
        }
        bounds.append((prevEnd, MemoryRestore.taskSize))
        var out: [UInt64] = []
        for (lo, hi) in bounds.reversed() where hi - lo >= 64 * page {
            out.append(lo + 16 * page)
            out.append(hi - 32 * page)
            if out.count >= 64 { break }
        }
        return out
    }

    /// clone3 at the dumped pid; the child runs RestoreChild and reports through a pipe.
    private func fork(_ images: ImageSet, _ plan: ChildPlan) throws -> (Int32, ChildReport) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw EngineError("pipe", errno: .init(rawValue: errno)) }
        var tid = images.pid
        let ret: Int = withUnsafeMutablePointer(to: &tid) { p in
            var args = csys_clone_args()
            args.exit_signal = UInt64(SIGCHLD)
            args.set_tid = UInt64(UInt(bitPattern: p))
            args.set_tid_size = 1
            return csys_sys_clone3(&args, MemoryLayout<csys_clone_args>.size)
        }
        if ret == 0 {
            close(fds[0])
            RestoreChild.run(plan, reportFd: fds[1])
        }
        let e = errno
        close(fds[1])
        guard ret > 0 else {
            close(fds[0])
            let reason = e == EEXIST ? "pid \(images.pid) is in use; restore into a fresh pid namespace" : nil
            throw EngineError("clone3 at pid \(images.pid)", errno: .init(rawValue: e), reason: reason)
        }
        let child = Int32(ret)
        var text: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            text += buf[0..<n]
        }
        close(fds[0])
        let msg = String(decoding: text, as: UTF8.self)
        guard let report = ChildReport.decode(msg) else {
            kill(child, SIGKILL)
            var st: Int32 = 0
            waitpid(child, &st, 0)
            let why = msg.hasPrefix("ERR ") ? String(msg.dropFirst(4)) : "child died before reporting (\(msg))"
            throw EngineError("prepare task \(images.pid)", reason: why)
        }
        log.debug("child \(child) ready: trampoline \(hex(report.trampoline))")
        return (child, report)
    }

    /// stats-restore, as CRIU writes it; a read-only images directory only costs a warning.
    private func writeStats(_ dir: ImageDir, forking: UInt64, total: UInt64, pages: UInt64) {
        var r = RestoreStatsEntry()
        r.pagesCompared = 0
        r.pagesSkippedCow = 0
        r.forkingTime = UInt32(clamping: forking)
        r.restoreTime = UInt32(clamping: total)
        r.pagesRestored = pages
        var e = StatsEntry()
        e.restore = r
        do { try dir.write("stats-restore", .stats, [e]) } catch { log.warning("can't write stats-restore: \(error)") }
    }

    private func rebuild(_ child: Int32, _ images: ImageSet, _ report: ChildReport) throws -> UInt64 {
        let task: SeizedTask
        do { task = try SeizedTask.seize(child, timeout: .seconds(options.timeoutSeconds)) } catch {
            throw EngineError.wrap(error, "seize restored child", pid: child)
        }
        let xsaveSize = try getXsave(tid: child).bytes.count
        let shared = try mapTrampoline(child, report)
        defer { munmap(shared.baseAddress, 4096) }
        task.useSyscallSite(report.trampoline)
        let scratch = UnsafeMutableRawBufferPointer(rebasing: shared[256...])
        let r = Remote(task: task, local: scratch, remoteBase: report.trampoline + 256)
        do {
            let pages = try MemoryRestore(r: r, images: images, report: report, faults: options.faults).run()
            log.info("Restored \(pages) pages of pid \(child)")
            try options.faults.check(.restoreAfterMemory)
            try TaskRestore(r: r, images: images).run()
            try r.call("close restorer memfd", Int32(SYS_close), UInt64(report.memfd))
            try options.faults.check(.restoreBeforeResume)
            _ = try r.raw(Int32(SYS_munmap), report.trampoline, MemoryRestore.page)
            task.forgetAddressSpace()
            let core = images.core
            let regs = CpuState.registers(core.threadInfo.gpregs)
            let xsave = CpuState.xsave(core.threadInfo.fpregs, size: xsaveSize)
            let stopped = options.leaveStopped || core.tc.taskState == TaskDump.taskStopped
            try task.detach(registers: regs, xsave: xsave, sigmask: core.tc.blkSigset, stopped: stopped)
            return pages
        } catch {
            task.forgetAddressSpace()
            throw EngineError.wrap(error, "restore", pid: child)
        }
    }

    /// Our own view of the child's trampoline page, through its memfd.
    private func mapTrampoline(_ child: Int32, _ report: ChildReport) throws -> UnsafeMutableRawBufferPointer {
        let path = "/proc/\(child)/fd/\(report.memfd)"
        let fd = csys_open(path, O_RDWR | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open", pid: child, path: path, errno: .init(rawValue: errno)) }
        defer { close(fd) }
        guard let p = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
              p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw EngineError("mmap", pid: child, path: path, errno: .init(rawValue: errno))
        }
        return UnsafeMutableRawBufferPointer(start: p, count: 4096)
    }
}
