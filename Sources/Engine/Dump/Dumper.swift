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
    private let discards = DiscardBook()
    /// criu's own CPUs, read once: each task's early scan holds the main thread on one of them for a while.
    private let criuCPUs: [UInt64]?

    public init(options: DumpOptions, logger: Logger) {
        self.options = options
        self.log = logger
        criuCPUs = try? TaskProps.dumpAffinity(tid: 0)
    }

    public func run() throws -> DumpStats {
        let pid = options.pid
        try DumpTarget.validate(pid)
        let dir = ImageDir(path: options.imagesDir)
        try dir.checkWritable()
        var stats = DumpStats()
        let t0 = Clock.micros()
        log.debug("pid \(pid) may be dumped")
        log.info("Seizing the tree of pid \(pid)")
        let tree = try TreeCollector.collect(root: pid, timeout: .seconds(options.timeoutSeconds), log: log)
        let frozenAt = Clock.micros()
        stats.freezingMicros = UInt32(clamping: frozenAt - t0)
        do {
            try options.faults.check(.dumpAfterSeize)
            // A parent inside vfork is read (or refused) before anything is injected or written.
            var vforkStates: [Int32: VforkParent.State] = [:]
            for t in tree { if let c = t.vforkChild { vforkStates[t.pid] = try VforkParent.read(pid: t.pid, child: c) } }
            let sharing = try SharedTaskState.check(tree.compactMap { $0.isLive ? ($0.pid, $0.ppid) : nil })
            try SharedMmCheck.check(tree, vm: sharing.vm)
            try options.faults.check(.dumpAfterSharingCheck)
            let ns = try TreeNamespaces.analyze(root: pid, live: tree.compactMap { $0.isLive ? $0.pid : nil })
            let nsImages = try NamespaceImages.dump(ns)
            if !ns.own.isEmpty { log.info("Root \(pid) has namespaces of its own: \(ns.own.map(\.rawValue).joined(separator: ","))") }
            try dumpTree(tree, sharing: sharing, vforkStates: vforkStates, ns: ns, nsImages: nsImages, dir: dir, stats: &stats)
            try options.faults.check(.dumpBeforeFinish)
        } catch {
            dir.removeWritten()
            LinkRemap.rollBack()
            log.info("Dump of pid \(pid) failed, resuming its \(tree.count) tasks")
            TreeCollector.release(tree)
            throw error
        }
        LinkRemap.keep()
        stats.frozenMicros = UInt32(clamping: Clock.micros() - frozenAt)
        try writeStats(stats, dir: dir)
        try finish(tree)
        log.info("Dumped \(tree.count) tasks under pid \(pid): \(stats.pagesWritten) pages written")
        return stats
    }

    private func finish(_ tree: [TreeTask]) throws {
        var first: Error?
        // A parent inside vfork goes first: once its (frozen) child is killed it would run on.
        if options.after == .kill {
            for t in tree where t.vforkChild != nil { kill(t.pid, SIGKILL) }
        }
        // Children first: a parent that dies first would leave them to be reaped by someone else.
        for t in tree.reversed() {
            guard let task = t.task else { continue }
            do {
                switch options.after {
                case .kill:
                    if let h = discards.halves[task.pid] {
                        log.debug("Freeing the memory of pid \(task.pid) on two threads before the kill")
                        let t0 = Clock.micros()
                        do { try task.discardMemory(h.first, h.second) } catch {
                            log.debug("Freeing the memory of pid \(task.pid) before the kill stopped: \(error); the kill frees the rest")
                        }
                        log.debug("Freed it in \((Clock.micros() - t0) / 1000) ms")
                    }
                    try task.killAndRelease()
                case .leaveRunning:
                    try task.cure()
                case .leaveStopped:
                    _ = csys_tgkill(task.pid, task.pid, SIGSTOP)
                    try task.cure()
                }
            } catch {
                if first == nil { first = EngineError.wrap(error, "finish dump", pid: task.pid) }
            }
        }
        if let first { throw first }
    }

    private func dumpTree(_ tree: [TreeTask], sharing: SharedTaskState.Sharing, vforkStates: [Int32: VforkParent.State], ns: TreeNamespaces, nsImages: NamespaceImages,
                          dir: ImageDir, stats: inout DumpStats) throws {
        // A child sharing its parent's fs, fd table, mm or handlers (CLONE_FS, CLONE_FILES, CLONE_VM,
        // CLONE_SIGHAND) gets the parent's id; a shared table is dumped once, by its first holder, and a
        // shared memory is not dumped twice.
        var taskIds: [Int32: TaskKobjIdsEntry] = [:]
        var table = SharedFdTable.Dump()
        let files = FileDumpContext(pid: options.pid, options: options.files)
        let shared = SharedFiles()
        files.treeIds = Set(tree.flatMap { t in [t.pid] + (t.task?.threads.map(\.tid) ?? []) })
        var entries: [PstreeEntry] = []
        var rootIds: TaskKobjIdsEntry?
        // vfork child pid -> where its parent's memory goes (the parent's pagemap and mm images).
        var vforkMemory: [Int32: (vpid: Int32, index: UInt32)] = [:]
        let inner = try TreePids.inner(tree, ownPidNs: ns.ownPidNs)
        for (i, t) in tree.enumerated() {
            var ps = PstreeEntry()
            let v = inner[t.pid]!
            ps.pid = UInt32(v.pid)
            ps.ppid = UInt32(i == 0 && ns.ownPidNs ? 0 : inner[t.ppid]?.pid ?? t.ppid)
            ps.pgid = UInt32(v.pgid)
            ps.sid = UInt32(v.sid)
            if let child = t.vforkChild {
                var own = TaskDump.ids(index: UInt32(i + 1))
                if let p = sharing.fs[t.pid], let pid = taskIds[p] { own.fsID = pid.fsID }
                if let p = sharing.sighand[t.pid], let pid = taskIds[p] { own.sighandID = pid.sighandID }
                own.filesID = table.filesID(pid: t.pid, parent: sharing.files[t.pid], index: UInt32(i + 1))
                let ids = try dumpVforkParent(t.pid, state: vforkStates[t.pid]!, child: inner[child]?.pid ?? child, vpid: v.pid, ns: ns, own: own, table: &table,
                                              files: files, shared: shared, dir: dir)
                taskIds[t.pid] = ids
                ps.threads = [UInt32(v.pid)]
                if rootIds == nil { rootIds = ids }
                vforkMemory[child] = (v.pid, UInt32(i + 1))
            } else if let task = t.task {
                var own = TaskDump.ids(index: UInt32(i + 1))
                if let p = sharing.fs[t.pid], let pid = taskIds[p] { own.fsID = pid.fsID }
                if let p = sharing.vm[t.pid], let pid = taskIds[p] { own.vmID = pid.vmID }
                if let p = sharing.sighand[t.pid], let pid = taskIds[p] { own.sighandID = pid.sighandID }
                own.filesID = table.filesID(pid: t.pid, parent: sharing.files[t.pid], index: UInt32(i + 1))
                let (threads, ids) = try dumpSeized(task, vpid: v.pid, ns: ns, index: UInt32(i + 1), own: own,
                                                    sharesMm: sharing.vm[t.pid] != nil, memoryOf: vforkMemory[t.pid], table: &table, files: files,
                                                    shared: shared, dir: dir, stats: &stats)
                taskIds[t.pid] = ids
                ps.threads = threads
                if rootIds == nil { rootIds = ids }
                if i == 0 && tree.count > 1 { try options.faults.check(.dumpAfterFirstTask) }
            } else {
                ps.threads = [UInt32(v.pid)]
                try dir.write("core-\(v.pid).img", .core, [TaskDump.zombieCore(exitCode: t.exitCode, comm: t.comm, status: try? Status.read(pid: t.pid))])
            }
            entries.append(ps)
        }
        try SharedMmCheck.checkFiles(vm: sharing.vm, held: files.held)
        try SiblingShares.check(tree: tree.map { ($0.pid, $0.ppid) }, held: files.held, entries: files.entries)
        try dir.write("files.img", .files, files.entries)
        try files.writeImages(dir)
        stats.pagesWritten += files.pagesWritten
        try dir.write("pstree.img", .pstree, entries)
        try options.faults.check(.dumpAfterFiles)
        var inv = InventoryEntry()
        inv.imgVersion = 2
        inv.fdinfoPerID = true
        inv.nsPerID = true
        var criuIds = rootIds ?? TaskDump.ids(index: 1)
        ns.ids(into: &criuIds, criuView: true)
        inv.rootIds = criuIds
        if let rootIds { try nsImages.write(dir, ids: rootIds) }
        inv.lsmtype = .noLsm
        try dir.write("inventory.img", .inventory, [inv])
    }

    /// Dumps one live task; returns its thread list and kernel-object ids.
    /// `memoryOf`: the images of a parent inside vfork whose memory (the same address space) this task
    /// dumps, since the parent cannot be stopped.
    private func dumpSeized(_ task: SeizedTask, vpid: Int32, ns: TreeNamespaces, index: UInt32, own: TaskKobjIdsEntry, sharesMm: Bool,
                            memoryOf: (vpid: Int32, index: UInt32)? = nil,
                            table: inout SharedFdTable.Dump, files: FileDumpContext,
                            shared: SharedFiles, dir: ImageDir,
                            stats: inout DumpStats) throws -> ([UInt32], TaskKobjIdsEntry) {
        let pid = task.pid
        let t = task.mainThread
        // Read before any injection: Compel blocks all signals while it runs code in a thread.
        var masks: [Int32: (UInt64, XsaveArea)] = [:]
        for th in task.threads {
            do { masks[th.tid] = (try getSigmask(tid: th.tid), try getXsave(tid: th.tid)) } catch {
                throw EngineError.wrap(error, "read registers of thread", pid: th.tid)
            }
        }
        let (sigmask, xsave) = masks[pid]!
        let regs = Self.resumeRegisters(t)
        let status = try Status.read(pid: pid)
        let stat = try Stat.read(pid: pid)
        // Plain maps: no page walk. The VmFlags come from smaps, read while the pages are copied.
        let vmas = try Maps.read(pid: pid)
        if status.seccompMode != 0 {
            throw EngineError("dump", pid: pid, reason: "seccomp mode \(status.seccompMode) is not supported yet")
        }
        log.debug("Read /proc state of pid \(pid): \(vmas.count) VMAs")
        // The pages are scanned and listed on a second thread while the state is read through injection.
        // A task that shares its parent's memory has none of its own; one whose vfork parent's memory it
        // also writes is dumped the plain way.
        let pages = try PagesWriter(path: dir.track("pages-\(index).img"), workers: PagesWriter.workers(cpus: criuCPUs))
        let early = sharesMm || memoryOf != nil ? nil : EarlyPageScan(task: task, vmas: vmas, pages: pages, cpus: criuCPUs)
        // A criu that dies from here until settle() leaves every thread to find its own way back.
        task.selfHealing = true
        task.onInjection = options.faults.injectionKiller { [log] in log.error("\($0)") }
        if let why = task.selfHealingUnavailable {
            log.warning("pid \(pid): injected code cannot undo itself if criu dies mid-dump: \(why)")
        }
        let area = try task.createSharedArea(size: Remote.areaSize, executable: true)
        log.debug("Shared area at \(hex(area.remote))")
        let remote = Remote(task: task, area: area)

        files.begin(pid: pid)
        // A table shared with the parent (CLONE_FILES) was dumped with the parent, locks included (the
        // table owns the POSIX locks).
        let sharedTable = table.tables[own.filesID]
        let fdinfo = try sharedTable ?? FileTable.dump(pid: pid, context: files, shellJob: options.shellJob, shared: shared)
        if sharedTable == nil {
            try files.locks.resolve(pid: pid, fdinfo: fdinfo, enabled: options.fileLocks, context: files)
            table.tables[own.filesID] = fdinfo
        }
        files.held[pid] = Dictionary(fdinfo.map { ($0.id, Int32(bitPattern: $0.fd)) }, uniquingKeysWith: min)
        let reads = try TaskReads.read(remote)
        let core = try TaskDump.core(remote, reads: reads, regs: regs, xsave: xsave, sigmask: sigmask, status: status, stat: stat,
                                     stopped: t.wasStopped)
        var threadCores: [(Int32, CoreEntry)] = []
        for th in task.threads where th.tid != pid {
            do {
                let (m, x) = masks[th.tid]!
                let thStatus = try Status.read(pid: pid, tid: th.tid)
                let c = try TaskDump.threadCore(remote.inThread(th), regs: Self.resumeRegisters(th), xsave: x, sigmask: m,
                                                status: thStatus, stat: try Stat.read(pid: pid, tid: th.tid))
                threadCores.append((ns.ownPidNs ? thStatus.nsPid.last ?? th.tid : th.tid, c))
            } catch {
                throw EngineError.wrap(error, "dump thread", pid: th.tid)
            }
        }
        log.debug("Dumped \(fdinfo.count) fds, the task core and \(threadCores.count) other threads")
        for (tid, why) in task.unarmedThreads {
            log.warning("thread \(tid): injected code cannot undo itself if criu dies mid-dump: \(why)")
        }
        options.faults.die(.dumpKillParked) { log.error("\($0)") }
        try options.faults.check(.dumpAfterCore)

        var plans = try MemoryPlanner.plan(pid: pid, vmas: vmas) { vma, flags in
            vma.isMemfd ? try MemfdMapping.register(pid: pid, vma: vma, flags: flags, context: files)
                        : try files.registerPath(vma.path ?? "", flags: flags)
        }
        let exeId = try files.registerPath(try TaskLinks.exe(pid: pid), flags: UInt32(O_RDONLY))
        var fs = FsEntry()
        fs.cwdID = try files.registerPath(try TaskLinks.cwd(pid: pid), flags: UInt32(O_RDONLY | O_DIRECTORY))
        fs.rootID = try files.registerPath(try TaskLinks.root(pid: pid), flags: UInt32(O_RDONLY | O_DIRECTORY))
        fs.umask = status.umask ?? 0o022

        // Nothing is injected from here on: put the task back as it was, so that a criu killed during the
        // long page copy leaves it running with its own signal mask and mappings (the kernel detaches it).
        try task.settle()
        early?.releaseCPUs()
        // After settle: smaps shows the mappings as they were before the injection.
        let smaps = SmapsReader(pid: pid)
        let memStart = Clock.micros()
        let pagemapWriter = try dir.writer("pagemap-\(vpid).img", .pagemap)
        let dumper = MemoryDumper(task: task, pagemapWriter: pagemapWriter, pages: pages, faults: options.faults)
        var ids = own
        ns.ids(into: &ids, criuView: false)
        // What does not wait for the memory is written while the helpers copy it, not after the copy.
        let writeOthers = { [dir, sharedTable] in
            try dir.write("core-\(vpid).img", .core, [core])
            for (tid, c) in threadCores { try dir.write("core-\(tid).img", .core, [c]) }
            if sharedTable == nil { try dir.write("fdinfo-\(ids.filesID).img", .fdinfo, fdinfo) }
            try dir.write("fs-\(vpid).img", .fs, [fs])
            try dir.write("ids-\(vpid).img", .ids, [ids])
        }
        let mem: MemoryDumper.Result
        var ahead = ""
        if let early {
            let (layout, waited) = try early.finish()
            ahead = ", scanned ahead, waited \(waited / 1000) ms for it"
            mem = try dumper.write(layout, pagesId: index, meanwhile: writeOthers)
        } else {
            mem = try dumper.dump(sharesMm ? [] : plans, pagemap: try Pagemap(pid: pid), pagesId: index, meanwhile: writeOthers)
        }
        try pagemapWriter.close()
        log.debug("Wrote \(mem.written) pages of pid \(pid) in \((Clock.micros() - memStart) / 1000) ms (\(mem.timing)\(ahead))")
        try MemoryPlanner.applyFlags(&plans, smaps: try smaps.finish(), pid: pid)
        var mm = try TaskDump.mm(pid: pid, reads: reads, stat: stat, plans: plans)
        mm.exeFileID = exeId
        stats.pagesScanned += mem.scanned
        stats.pagesWritten += mem.written
        if options.after == .kill && !sharesMm && memoryOf == nil {
            let byStart = Dictionary(plans.map { ($0.vma.start, $0) }, uniquingKeysWith: { a, _ in a })
            let discardable = mem.copied.filter { byStart[$0.start].map(DiscardSplit.mayDiscard) ?? false }
            if let halves = DiscardSplit.halves(discardable, pageSize: PagesWriter.pageSize) { discards.halves[pid] = halves }
        }
        if let parent = memoryOf {
            let writer = try dir.writer("pagemap-\(parent.vpid).img", .pagemap)
            let parentPages = try PagesWriter(path: dir.track("pages-\(parent.index).img"), workers: PagesWriter.workers(cpus: criuCPUs))
            let m = try MemoryDumper(task: task, pagemapWriter: writer, pages: parentPages,
                                     faults: options.faults).dump(plans, pagemap: try Pagemap(pid: pid), pagesId: parent.index)
            try writer.close()
            stats.pagesScanned += m.scanned
            stats.pagesWritten += m.written
            try dir.write("mm-\(parent.vpid).img", .mm, [mm])
        }
        stats.memdumpMicros &+= UInt32(clamping: Clock.micros() - memStart)
        stats.memwriteMicros = stats.memdumpMicros
        try options.faults.check(.dumpAfterMemory)

        try dir.write("mm-\(vpid).img", .mm, [mm])
        return ([UInt32(vpid)] + threadCores.map { UInt32($0.0) }, ids)
    }

    /// A parent inside vfork: its core from the BPF reader and /proc, its fds and fs by pid. Its memory
    /// and mm are written with its child (`memoryOf` of dumpSeized).
    private func dumpVforkParent(_ pid: Int32, state: VforkParent.State, child: Int32, vpid: Int32, ns: TreeNamespaces, own: TaskKobjIdsEntry,
                                 table: inout SharedFdTable.Dump, files: FileDumpContext, shared: SharedFiles,
                                 dir: ImageDir) throws -> TaskKobjIdsEntry {
        files.begin(pid: pid)
        let sharedTable = table.tables[own.filesID]
        let fdinfo = try sharedTable ?? FileTable.dump(pid: pid, context: files, shellJob: options.shellJob, shared: shared)
        if sharedTable == nil {
            try files.locks.resolve(pid: pid, fdinfo: fdinfo, enabled: options.fileLocks, context: files)
            table.tables[own.filesID] = fdinfo
        }
        files.held[pid] = Dictionary(fdinfo.map { ($0.id, Int32(bitPattern: $0.fd)) }, uniquingKeysWith: min)
        let core = try VforkParent.core(pid: pid, vforkChild: child, state)
        var fs = FsEntry()
        fs.cwdID = try files.registerPath(try TaskLinks.cwd(pid: pid), flags: UInt32(O_RDONLY | O_DIRECTORY))
        fs.rootID = try files.registerPath(try TaskLinks.root(pid: pid), flags: UInt32(O_RDONLY | O_DIRECTORY))
        fs.umask = state.status.umask ?? 0o022
        try options.faults.check(.dumpAfterCore)
        var ids = own
        ns.ids(into: &ids, criuView: false)
        try dir.write("core-\(vpid).img", .core, [core])
        if sharedTable == nil { try dir.write("fdinfo-\(ids.filesID).img", .fdinfo, fdinfo) }
        try dir.write("fs-\(vpid).img", .fs, [fs])
        try dir.write("ids-\(vpid).img", .ids, [ids])
        log.info("Read pid \(pid) inside vfork (child \(child)) without stopping it")
        return ids
    }

    /// The registers a thread resumes with. A sleep interrupted for the dump would resume through
    /// restart_syscall, whose restart_block a restored task no longer has (it would return EINTR). The
    /// argument registers are intact, so the thread re-enters the original call instead: a relative sleep
    /// starts over, an absolute one is exact.
    static func resumeRegisters(_ t: SeizedThread) -> GeneralRegisters {
        var regs = t.resumeRegisters
        if let sc = t.interruptedSyscall, sc.usesRestartBlock { regs.rax = UInt64(bitPattern: sc.number) }
        return regs
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
    static func micros() -> UInt64 { read(CLOCK_MONOTONIC) }

    /// CPU time of the calling thread.
    static func threadCPUMicros() -> UInt64 { read(CLOCK_THREAD_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}
