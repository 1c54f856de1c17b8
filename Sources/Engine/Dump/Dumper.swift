import Glibc
import CSys
import Compel
import Images
import Logging

/// Dumps one process: checks it may be dumped, seizes it, reads its whole state into image files, then
/// kills it, leaves it running or leaves it stopped. Any failure before the end cures the task: it runs on
/// exactly as before and the partial images are removed.
public struct Dumper {
    public let options: DumpOptions
    let log: Logger

    public init(options: DumpOptions, logger: Logger) {
        self.options = options
        self.log = logger
    }

    public func run() throws -> DumpStats {
        let pid = options.pid
        try DumpTarget.validate(pid)
        let dir = ImageDir(path: options.imagesDir)
        try dir.checkWritable()
        var stats = DumpStats()
        let t0 = Clock.micros()
        log.debug("pid \(pid) may be dumped")
        log.info("Seizing pid \(pid)")
        let task: SeizedTask
        do {
            task = try SeizedTask.seize(pid, timeout: .seconds(options.timeoutSeconds))
        } catch {
            throw EngineError.wrap(error, "seize", pid: pid)
        }
        let frozenAt = Clock.micros()
        stats.freezingMicros = UInt32(clamping: frozenAt - t0)
        do {
            try options.faults.check(.dumpAfterSeize)
            try dumpSeized(task, dir: dir, stats: &stats)
            try options.faults.check(.dumpBeforeFinish)
        } catch {
            dir.removeWritten()
            log.info("Dump of pid \(pid) failed, resuming it")
            do { try task.cure() } catch { log.error("cure of pid \(pid) failed: \(error)") }
            throw error
        }
        stats.frozenMicros = UInt32(clamping: Clock.micros() - frozenAt)
        try writeStats(stats, dir: dir)
        try finish(task)
        log.info("Dumped pid \(pid): \(stats.pagesWritten) pages written")
        return stats
    }

    private func finish(_ task: SeizedTask) throws {
        do {
            switch options.after {
            case .kill:
                try task.killAndRelease()
            case .leaveRunning:
                try task.cure()
            case .leaveStopped:
                _ = csys_tgkill(task.pid, task.pid, SIGSTOP)
                try task.cure()
            }
        } catch {
            throw EngineError.wrap(error, "finish dump", pid: task.pid)
        }
    }

    private func dumpSeized(_ task: SeizedTask, dir: ImageDir, stats: inout DumpStats) throws {
        let pid = task.pid
        let t = task.mainThread
        // Read before any injection: Compel blocks all signals while it runs code in the task.
        let sigmask = try getSigmask(tid: pid)
        var regs = t.resumeRegisters
        // A sleep interrupted for the dump would resume through restart_syscall, whose restart_block a
        // restored task no longer has (it would return EINTR). The argument registers are intact, so the
        // task re-enters the original call instead: a relative sleep starts over, an absolute one is exact.
        if let sc = t.interruptedSyscall, sc.usesRestartBlock { regs.rax = UInt64(bitPattern: sc.number) }
        let xsave = try getXsave(tid: pid)
        let status = try Status.read(pid: pid)
        let stat = try Stat.read(pid: pid)
        let smaps = try Smaps.read(pid: pid)
        if status.seccompMode != 0 {
            throw EngineError("dump", pid: pid, reason: "seccomp mode \(status.seccompMode) is not supported yet")
        }
        log.debug("Read /proc state of pid \(pid): \(smaps.count) VMAs")
        let area = try task.createSharedArea(size: 4096)
        log.debug("Shared area at \(hex(area.remote))")
        let remote = Remote(task: task, area: area)

        let files = FileDumpContext(pid: pid, options: options.files)
        let fdinfo = try FileTable.dump(pid: pid, context: files, shellJob: options.shellJob)
        let core = try TaskDump.core(remote, regs: regs, xsave: xsave, sigmask: sigmask, status: status, stat: stat,
                                     stopped: t.wasStopped)
        log.debug("Dumped \(fdinfo.count) fds and the task core")
        try options.faults.check(.dumpAfterCore)

        let plans = try MemoryPlanner.plan(pid: pid, smaps: smaps) { vma, flags in
            try files.registerPath(vma.path ?? "", flags: flags)
        }
        var mm = try TaskDump.mm(remote, stat: stat, plans: plans)
        mm.exeFileID = try files.registerPath(try TaskLinks.exe(pid: pid), flags: UInt32(O_RDONLY))
        var fs = FsEntry()
        fs.cwdID = try files.registerPath(try TaskLinks.cwd(pid: pid), flags: UInt32(O_RDONLY | O_DIRECTORY))
        fs.rootID = try files.registerPath(try TaskLinks.root(pid: pid), flags: UInt32(O_RDONLY | O_DIRECTORY))
        fs.umask = status.umask ?? 0o022

        let memStart = Clock.micros()
        let pagemapWriter = try dir.writer("pagemap-\(pid).img", .pagemap)
        let pages = try PagesWriter(path: dir.track("pages-1.img"))
        let pagemap = try Pagemap(pid: pid)
        let mem = try MemoryDumper(task: task, pagemap: pagemap, pagemapWriter: pagemapWriter, pages: pages,
                                   faults: options.faults).dump(plans, pagesId: 1)
        try pagemapWriter.close()
        stats.pagesScanned = mem.scanned
        stats.pagesWritten = mem.written
        stats.memdumpMicros = UInt32(clamping: Clock.micros() - memStart)
        stats.memwriteMicros = stats.memdumpMicros
        try options.faults.check(.dumpAfterMemory)

        let ids = TaskDump.ids(pid: pid)
        try dir.write("core-\(pid).img", .core, [core])
        try dir.write("mm-\(pid).img", .mm, [mm])
        try dir.write("files.img", .files, files.entries)
        try files.writeImages(dir)
        stats.pagesWritten += files.pagesWritten
        try dir.write("fdinfo-\(ids.filesID).img", .fdinfo, fdinfo)
        try dir.write("fs-\(pid).img", .fs, [fs])
        try dir.write("ids-\(pid).img", .ids, [ids])
        var ps = PstreeEntry()
        ps.pid = UInt32(pid)
        ps.ppid = UInt32(stat.ppid)
        ps.pgid = UInt32(stat.pgrp)
        ps.sid = UInt32(stat.session)
        ps.threads = [UInt32(pid)]
        try dir.write("pstree.img", .pstree, [ps])
        try options.faults.check(.dumpAfterFiles)
        var inv = InventoryEntry()
        inv.imgVersion = 2
        inv.fdinfoPerID = true
        inv.nsPerID = true
        inv.rootIds = ids
        inv.lsmtype = .noLsm
        try dir.write("inventory.img", .inventory, [inv])
    }

    private func writeStats(_ s: DumpStats, dir: ImageDir) throws {
        var d = DumpStatsEntry()
        d.freezingTime = s.freezingMicros
        d.frozenTime = s.frozenMicros
        d.memdumpTime = s.memdumpMicros
        d.memwriteTime = s.memwriteMicros
        d.pagesScanned = s.pagesScanned
        d.pagesSkippedParent = 0
        d.pagesWritten = s.pagesWritten
        d.pagesLazy = 0
        var e = StatsEntry()
        e.dump = d
        try dir.write("stats-dump", .stats, [e])
    }
}

enum Clock {
    static func micros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}
