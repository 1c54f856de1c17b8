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

    /// Returns the pid of the restored, running root task (our child).
    public func run() throws -> Int32 {
        let t0 = Clock.micros()
        let dir = ImageDir(path: options.imagesDir)
        let tree = try TreeImages.read(dir)
        let locks = try FileLocks.read(dir, tree: tree, enabled: options.fileLocks)
        let fanotify = FanotifyFile.markOwners(tree)
        try options.faults.check(.restoreAfterRead)
        // Every pid and tid must be free before anything is created (in a fresh pid namespace they are).
        for id in tree.allIds where !tree.namespaces.ownPidNs && access("/proc/\(id)", F_OK) == 0 {
            throw EngineError("restore", pid: id,
                              reason: "pid \(id) is in use; restore into a fresh pid namespace (zdtm flavor ns) or free it")
        }
        var plans = try treePlans(tree)
        // Helpers take the pids of dead leaders: those must be free too.
        for p in plans where p.helper != nil && !tree.namespaces.ownPidNs && access("/proc/\(p.pid)", F_OK) == 0 {
            throw EngineError("restore", pid: p.pid,
                              reason: "pid \(p.pid) (a gone session or group leader, needed for a helper task) is in use; restore into a fresh pid namespace (zdtm flavor ns) or free it")
        }
        for i in plans.indices { plans[i].fileImages.shellJob = options.shellJob }
        let inherit = try InheritFd.park(options.inheritFds, targets: Set(plans.flatMap { $0.fds.map(\.fd) }))
        for i in plans.indices { plans[i].fileImages.inheritFds = inherit }
        let ghosts = try GhostFile.prepare(plans.map(\.fileImages))
        defer { ghosts.cleanUp() }
        for i in plans.indices { plans[i].fileImages.ghostPaths = ghosts.paths }
        // Tasks orphaned by a failed restore come to us, so that we can reap them and free their pids.
        _ = csys_prctl(Self.prSetChildSubreaper, 1, 0, 0, 0)
        var shared = TreeObjects()
        shared.shmem = try SharedMemory.create(tree.sharedMemory)
        defer { shared.closeAll() }
        shared.pipes = try SharedPipe.create(tree.sharedPipes, data: tree.live[tree.root]?.fileImages.pipeData ?? [:],
                                             floor: Int32(SharedMemory.fdFloor))
        shared.memfds = try MemfdMapping.createAll(tree.live[tree.root]?.fileImages.memfds ?? [:], floor: Int32(SharedMemory.fdFloor))
        shared.deadPidfds = try PidfdFile.deadPidfds(tree.live[tree.root]?.files ?? [:], floor: Int32(SharedMemory.fdFloor))
        if var images = tree.live[tree.root]?.fileImages {
            images.sharedMemfds = shared.memfds
            shared.files = try SharedDescriptions.open(plans, images: images, floor: Int32(SharedMemory.fdFloor))
        }
        var root = tree.root
        let forkStart = Clock.micros()
        let (reports, rootHost) = try forkTree(plans, shared: shared, ns: tree.namespaces)
        // The restored tasks hold their pipe ends now; ours would keep a reader or writer alive.
        for fds in shared.pipes.values { fds.forEach { close($0) } }
        shared.pipes = [:]
        let forked = Clock.micros()
        var held: [PendingTask] = []
        let pidfds = PidfdFile.Holders()
        let sharerPids = Set(plans.filter(\.sharesParentVm).map(\.pid))
        let cloned = ClonedSharers()
        var sharersOf: [Int32: [(images: ImageSet, flags: UInt64)]] = [:]
        for p in plans {
            for ci in p.children where plans[ci].sharesParentVm {
                if let c = tree.live[plans[ci].pid] { sharersOf[p.pid, default: []].append((c, plans[ci].cloneFlags)) }
            }
        }
        do {
            try options.faults.check(.restoreAfterFork)
            if plans.contains(where: { $0.helper != nil }) { try options.faults.check(.restoreAfterHelpers) }
            // In a fresh pid namespace the images' pids are the namespace's; tracing needs the host's.
            var host: [Int32: Int32] = [:]
            if tree.namespaces.ownPidNs {
                host = try NamespaceRestore.hostPids(root: rootHost)
                root = rootHost
                try options.faults.check(.restoreAfterPidMap)
            }
            for e in tree.entries {
                let pid = Int32(bitPattern: e.pid)
                guard let images = tree.live[pid], let report = reports[pid] else { continue }
                guard let hostPid = tree.namespaces.ownPidNs ? host[pid] : pid else {
                    throw EngineError("restore", pid: pid, reason: "restored task \(pid) is not under the namespace's init \(rootHost)")
                }
                held.append(try rebuild(hostPid, images, report, pidfds: pidfds, locks: locks, fanotify: fanotify,
                                        sharers: sharersOf[pid] ?? [], ownPidNs: tree.namespaces.ownPidNs, cloned: cloned))
                if held.count == 1 && tree.live.count > 1 { try options.faults.check(.restoreAfterFirstTask) }
            }
            try options.faults.check(.restoreBeforeResume)
            // Every task holds its files: the names made for them go before any task runs.
            ghosts.cleanUp()
            LinkRemap.cleanUp(plans.map(\.fileImages))
            for p in held.reversed() { try p.resume() }
            writeStats(dir, forking: forked - forkStart, total: Clock.micros() - t0, pages: held.reduce(0) { $0 + $1.pages })
        } catch {
            // Children first are not needed: each restored task dies with its parent (PDEATHSIG) until it
            // is resumed, but kill every one by pid so nothing is left even after a partial resume.
            if tree.namespaces.ownPidNs {
                // The namespace's init takes every task of its pid namespace along.
                if rootHost > 0 { kill(rootHost, SIGKILL) }
            } else {
                // A process sharing an address space may not exist yet; once cloned it dies with its parent.
                for p in cloned.pids { kill(p, SIGKILL) }
                for e in tree.entries.reversed() where !sharerPids.contains(Int32(bitPattern: e.pid)) { kill(Int32(bitPattern: e.pid), SIGKILL) }
            }
            Self.reapAll()
            throw error
        }
        return root
    }

    static let prSetChildSubreaper: Int32 = 36

    /// Waits for every child we have (the killed root and the orphans we adopted as subreaper).
    static func reapAll() {
        var st: Int32 = 0
        while true {
            let r = waitpid(-1, &st, __WALL)
            if r < 0 && errno == EINTR { continue }
            if r < 0 { break }
        }
    }

    /// A task whose memory and state are back, held until every task of the tree is.
    struct PendingTask {
        let task: SeizedTask
        let states: [Int32: SeizedTask.ThreadResume]
        let stopped: Bool
        /// Our view of the trampoline page (nil for a process sharing its parent's: the parent's view).
        let shared: UnsafeMutableRawBufferPointer?
        let pages: UInt64
        /// Processes cloned on this task's address space (SharedMm), resumed before it.
        var sharers: [PendingTask] = []

        func resume() throws {
            defer { if let shared { munmap(shared.baseAddress, shared.count) } }
            for s in sharers { try s.resume() }
            do { try task.detachAll(states, stopped: stopped) } catch {
                throw EngineError.wrap(error, "resume restored task", pid: task.pid)
            }
        }
    }

    /// One plan per task in pstree order, each knowing its children and what it inherits.
    private func treePlans(_ tree: TreeImages) throws -> [ChildPlan] {
        var plans: [ChildPlan] = []
        var index: [Int32: Int] = [:]
        var fsSeen: [UInt32: Int32] = [:], filesSeen: [UInt32: Int32] = [:]
        var mmSeen = SharedMm.Seen()
        for e in tree.entries {
            let pid = Int32(bitPattern: e.pid)
            var plan: ChildPlan
            if let images = tree.live[pid] {
                plan = try childPlan(images)
                let parentFs = tree.live[Int32(bitPattern: e.ppid)]?.ids.fsID
                plan.cloneFlags = try SharedFs.cloneFlags(pid: pid, fsID: images.ids.fsID, parentFsID: plans.isEmpty ? nil : parentFs,
                                                          seen: &fsSeen)
                let parentFiles = tree.live[Int32(bitPattern: e.ppid)]?.ids.filesID
                plan.cloneFlags |= try SharedFdTable.cloneFlags(pid: pid, filesID: images.ids.filesID,
                                                                parentFilesID: plans.isEmpty ? nil : parentFiles, seen: &filesSeen)
                plan.cloneFlags |= try SharedMm.cloneFlags(pid: pid, ids: images.ids, parent: plans.isEmpty ? nil : tree.live[Int32(bitPattern: e.ppid)]?.ids,
                                                           seen: &mmSeen)
            } else {
                plan = ChildPlan(sid: Int32(bitPattern: e.sid), pgid: Int32(bitPattern: e.pgid), pid: pid, umask: 0, cwd: "/",
                                 root: "/", fds: [], pagesPath: "", exePath: "", mappedFiles: [:], trampolineCandidates: [])
                plan.zombie = tree.zombies[pid]
            }
            if let pi = index[Int32(bitPattern: e.ppid)], !plans.isEmpty {
                plans[pi].children.append(plans.count)
                // A file id the parent holds too is one description: take it from the parent.
                let parentFds = Dictionary(plans[pi].fds.map { ($0.file.id, $0.fd) }, uniquingKeysWith: { a, _ in a })
                for f in plan.fds { if let pfd = parentFds[f.file.id] { plan.inherited[f.file.id] = pfd } }
            }
            index[pid] = plans.count
            plans.append(plan)
        }
        try SharedMm.validate(plans)
        try TreeHelpers.insert(&plans) { tree.live[$0]?.core.tc.childSubreaper ?? false }
        SharedFdTable.countSharers(&plans, faults: options.faults)
        return plans
    }

    private func path(_ images: ImageSet, _ id: UInt32) -> String { images.files[id]?.reg.name ?? "" }

    private func childPlan(_ images: ImageSet) throws -> ChildPlan {
        var mapped: [UInt32: (String, Int32)] = [:]
        var memfds: [UInt32: (inode: UInt32, flags: Int32)] = [:]
        for v in images.mm.vmas where v.status & (VmaStatus.filePrivate | VmaStatus.fileShared) != 0 {
            let id = UInt32(truncatingIfNeeded: v.shmid)
            let flags = Int32(bitPattern: v.hasFdflags ? v.fdflags : UInt32(O_RDONLY))
            if v.status & VmaStatus.memfd != 0, let m = images.files[id], m.hasMemfd {
                memfds[id] = (m.memfd.inodeID, flags)
            } else {
                mapped[id] = (path(images, id), flags)
            }
        }
        for id in Set(mapped.keys).union([images.mm.exeFileID]) { try RegularFileCheck.verify(path: images.files[id], what: "check mapped file") }
        return ChildPlan(
            sid: Int32(bitPattern: images.pstree.sid), pgid: Int32(bitPattern: images.pstree.pgid), pid: images.pid,
            umask: images.fs.hasUmask ? images.fs.umask : 0o022,
            cwd: path(images, images.fs.cwdID), root: path(images, images.fs.rootID),
            fds: images.fdinfo.map { (Int32(bitPattern: $0.fd), images.files[$0.id]!, $0.flags & UInt32(FD_CLOEXEC) != 0) },
            pagesPath: images.pagesPath, exePath: path(images, images.mm.exeFileID),
            mappedFiles: mapped, trampolineCandidates: Self.holes(images.mm.vmas),
            shmids: Set(images.mm.vmas.filter { $0.status & VmaStatus.anonShared != 0 }.map(\.shmid)),
            fileImages: images.fileImages, mappedMemfds: memfds)
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

    /// clone3 of the root at its pid; it forks the rest of the tree (RestoreChild) and every live task
    /// reports one line through one pipe. Returns each task's report.
    /// Returns each task's report and the root's host pid.
    private func forkTree(_ plans: [ChildPlan], shared: TreeObjects, ns: NamespaceImages) throws -> ([Int32: ChildReport], Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw EngineError("pipe", errno: .init(rawValue: errno)) }
        let rootPid = plans[0].pid
        let gate = ns.ownPidNs ? try RootGate.open(groupOutside: plans[0].pgid == 0) : nil
        let flags = options.sibling ? siblingCloneFlags : 0
        let ret = ns.kinds.isEmpty ? forkAtPid(rootPid, flags: flags) : NamespaceRestore.forkRoot(ns, pid: rootPid, flags: flags)
        if ret == 0 {
            close(fds[0])
            gate?.waitInChild()
            if !ns.kinds.isEmpty { RestoreChild.enterNamespaces(ns, pid: rootPid, reportFd: fds[1], faults: options.faults,
                                                                  deadPidfds: shared.deadPidfds) }
            RestoreChild.run(plans, 0, reportFd: fds[1], shared: shared)
        }
        let e = errno
        close(fds[1])
        do { try gate?.release(root: Int32(ret)) } catch {
            close(fds[0])
            if ret > 0 { kill(Int32(ret), SIGKILL) }
            Self.reapAll()
            throw error
        }
        guard ret > 0 else {
            close(fds[0])
            let reason = e == EEXIST ? "pid \(rootPid) is in use; restore into a fresh pid namespace" : nil
            throw EngineError("clone3 at pid \(rootPid)", errno: .init(rawValue: e), reason: reason)
        }
        var text: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            text += buf[0..<n]
        }
        close(fds[0])
        var reports: [Int32: ChildReport] = [:]
        var failure: EngineError?
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let pid = Int32(parts[0]) else { continue }
            if let r = ChildReport.decode(String(parts[1])) {
                reports[pid] = r
            } else if failure == nil {
                let msg = parts[1].hasPrefix("ERR ") ? String(parts[1].dropFirst(4)) : String(parts[1])
                failure = EngineError("prepare task \(pid)", pid: pid, reason: msg)
            }
        }
        if failure == nil, let missing = plans.first(where: { $0.zombieStatus == nil && $0.helper == nil && !$0.sharesParentVm && reports[$0.pid] == nil }) {
            failure = EngineError("prepare task \(missing.pid)", pid: missing.pid, reason: "task died before reporting")
        }
        if let failure {
            // Helpers are not killed by pid: theirs may be reused already; they die with their parent.
            if ns.ownPidNs { kill(Int32(ret), SIGKILL) } else {
                for p in plans.reversed() where p.helper == nil && !p.sharesParentVm { kill(p.pid, SIGKILL) }
            }
            Self.reapAll()
            throw failure
        }
        log.debug("\(reports.count) tasks ready")
        return (reports, Int32(ret))
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

    private func rebuild(_ child: Int32, _ images: ImageSet, _ report: ChildReport, pidfds: PidfdFile.Holders,
                         locks allLocks: [Int32: [FileLockEntry]], fanotify allMarks: [Int32: [(fd: Int32, entry: FanotifyFileEntry)]],
                         sharers: [(images: ImageSet, flags: UInt64)], ownPidNs: Bool, cloned: ClonedSharers) throws -> PendingTask {
        let locks = allLocks[images.pid] ?? [], fanotify = allMarks[images.pid] ?? []
        let task: SeizedTask
        do { task = try SeizedTask.seize(child, timeout: .seconds(options.timeoutSeconds)) } catch {
            throw EngineError.wrap(error, "seize restored child", pid: child)
        }
        let xsaveSize = try getXsave(tid: child).bytes.count
        let shared = try mapTrampoline(child, report)
        task.useSyscallSite(report.trampoline)
        task.installBatchCode(local: shared.baseAddress! + MemoryRestore.batchCodeOffset,
                              remote: report.trampoline + UInt64(MemoryRestore.batchCodeOffset))
        let tableAt = MemoryRestore.batchTableOffset
        let table = BatchTable(local: UnsafeMutableRawBufferPointer(rebasing: shared[tableAt...]), remote: report.trampoline + UInt64(tableAt))
        let scratch = UnsafeMutableRawBufferPointer(rebasing: shared[256..<tableAt])
        let r = Remote(task: task, local: scratch, remoteBase: report.trampoline + 256, table: table)
        do {
            let pages = try MemoryRestore(r: r, images: images, report: report, faults: options.faults).run()
            log.info("Restored \(pages) pages of pid \(child)")
            try options.faults.check(.restoreAfterMemory)
            try FileLocks.restore(r, locks)
            try FanotifyFile.restoreMarks(r, fanotify)
            let threads = ThreadRestore(r: r, images: images)
            let created = try threads.create()
            try options.faults.check(.restoreAfterThreads)
            try threads.restoreState(created)
            try PidfdFile.reopen(r, fdinfo: images.fdinfo, files: images.files, holders: pidfds)
            // A parent inside vfork clones that child last: from its vfork event on it runs no more code.
            let tc = images.core.tc
            let vforkPid: Int32? = tc.hasVforkChild ? Int32(bitPattern: tc.vforkChild) : nil
            let vforkSharer = sharers.filter { $0.images.pid == vforkPid }
            if let vforkPid, vforkSharer.isEmpty {
                throw EngineError("restore", pid: images.pid, reason: "is inside vfork with child \(vforkPid), which is not a child sharing its address space in the images")
            }
            let ctx = SharerContext(parent: images, report: report, scratch: scratch, ownPidNs: ownPidNs, pidfds: pidfds,
                                    locks: allLocks, fanotify: allMarks, cloned: cloned)
            let plain = sharers.filter { $0.images.pid != vforkPid }
            var sharerTasks = plain.isEmpty ? [] : try rebuildSharers(r, plain, ctx)
            if !created.isEmpty { log.info("Restored \(created.count) more threads of pid \(child)") }
            if let vforkPid, ownPidNs, !SharedMm.maySetTid(images.core.threadCore.creds) { try SharedMm.presetLastPid(r, vforkPid - 1) }
            try TaskRestore(r: r, images: images).run()
            try r.call("close restorer memfd", Int32(SYS_close), UInt64(report.memfd))
            if vforkSharer.isEmpty {
                _ = try r.raw(Int32(SYS_munmap), report.trampoline, MemoryRestore.areaSize)
            } else {
                sharerTasks += try rebuildSharers(r, vforkSharer, ctx, vfork: true)
                log.info("Pid \(child) waits in vfork for its child \(vforkPid ?? 0) (pid by \(SharedMm.maySetTid(images.core.threadCore.creds) ? "set_tid" : "ns_last_pid"))")
            }
            task.forgetAddressSpace()
            sharerTasks.forEach { $0.task.forgetAddressSpace() }
            let core = images.core
            let main = SeizedTask.ThreadResume(registers: CpuState.registers(core.threadInfo.gpregs),
                                               xsave: CpuState.xsave(core.threadInfo.fpregs, size: xsaveSize),
                                               sigmask: core.tc.blkSigset)
            let stopped = options.leaveStopped || core.tc.taskState == TaskDump.taskStopped
            return PendingTask(task: task, states: threads.resumeStates(main: main, xsaveSize: xsaveSize, threads: created),
                               stopped: stopped, shared: shared, pages: pages, sharers: sharerTasks)
        } catch {
            task.forgetAddressSpace()
            munmap(shared.baseAddress, shared.count)
            throw EngineError.wrap(error, "restore", pid: child)
        }
    }

    /// Our own view of the child's restorer area (trampoline page and scratch), through its memfd.
    private func mapTrampoline(_ child: Int32, _ report: ChildReport) throws -> UnsafeMutableRawBufferPointer {
        let path = "/proc/\(child)/fd/\(report.memfd)"
        let fd = csys_open(path, O_RDWR | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open", pid: child, path: path, errno: .init(rawValue: errno)) }
        defer { close(fd) }
        let size = Int(MemoryRestore.areaSize)
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
              p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw EngineError("mmap", pid: child, path: path, errno: .init(rawValue: errno))
        }
        return UnsafeMutableRawBufferPointer(start: p, count: size)
    }
}
