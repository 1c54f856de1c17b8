import Glibc
import CSys
import Compel
import Images

/// The restore steps of a process sharing its parent's address space (SharedMm.swift), run while the
/// parent is held with its memory and threads back, before the parent's own state (creds last) and
/// before its trampoline goes: the sharer's syscalls run through that same page.
extension Restorer {
    /// Host pids of the sharers cloned so far: a failed restore kills them by pid, since once their own
    /// parent-death signal is restored they no longer die with their parent.
    final class ClonedSharers {
        var pids: [Int32] = []
    }

    struct SharerContext {
        let parent: ImageSet
        let report: ChildReport
        let scratch: UnsafeMutableRawBufferPointer
        let ownPidNs: Bool
        let pidfds: PidfdFile.Holders
        let locks: [Int32: [FileLockEntry]]
        let fanotify: [Int32: [(fd: Int32, entry: FanotifyFileEntry)]]
        let cloned: ClonedSharers
    }

    /// Clones and rebuilds every sharer of the parent held by `r`; returns them held. `vfork`: the one
    /// sharer is the child of a parent inside vfork, cloned last with CLONE_VFORK; it also unmaps the
    /// trampoline the parent can no longer unmap.
    func rebuildSharers(_ r: Remote, _ sharers: [(images: ImageSet, flags: UInt64)], _ ctx: SharerContext,
                        vfork: Bool = false) throws -> [PendingTask] {
        var out: [PendingTask] = []
        let parentFds = Dictionary(ctx.parent.fdinfo.map { ($0.id, Int32(bitPattern: $0.fd)) }, uniquingKeysWith: min)
        for (c, flags) in sharers {
            let cloneFlags = flags & UInt64(CSYS_CLONE_VM | CSYS_CLONE_SIGHAND | CSYS_CLONE_FS)
            let task = vfork ? try SharedMm.cloneVfork(r, pid: c.pid, flags: cloneFlags, ownPidNs: ctx.ownPidNs,
                                                                   privileged: SharedMm.maySetTid(ctx.parent.core.threadCore.creds),
                                                                   trampoline: ctx.report.trampoline)
                             : try SharedMm.clone(r, pid: c.pid, flags: cloneFlags, ownPidNs: ctx.ownPidNs, trampoline: ctx.report.trampoline)
            ctx.cloned.pids.append(task.pid)
            let cr = Remote(task: task, local: ctx.scratch, remoteBase: ctx.report.trampoline + 256)
            do {
                // Dies with criu until its own state replaces this (the clone does not inherit it).
                try cr.call("prctl(PR_SET_PDEATHSIG)", Int32(SYS_prctl), UInt64(PR_SET_PDEATHSIG), UInt64(SIGKILL), 0, 0, 0)
                try options.faults.check(vfork ? .restoreAfterVforkClone : .restoreAfterSharedMm)
                let xsaveSize = try getXsave(tid: task.pid).bytes.count
                try SharedMm.placeFds(cr, fdinfo: c.fdinfo, parentFds: parentFds)
                try SharedMm.placeTaskBits(cr, c, parent: ctx.parent, sharesFs: flags & UInt64(CSYS_CLONE_FS) != 0)
                try FileLocks.restore(cr, ctx.locks[c.pid] ?? [])
                try FanotifyFile.restoreMarks(cr, ctx.fanotify[c.pid] ?? [])
                let threads = ThreadRestore(r: cr, images: c)
                let created = try threads.create()
                try threads.restoreState(created)
                try PidfdFile.reopen(cr, fdinfo: c.fdinfo, files: c.files, holders: ctx.pidfds)
                try TaskRestore(r: cr, images: c).run()
                if vfork { _ = try cr.raw(Int32(SYS_munmap), ctx.report.trampoline, MemoryRestore.areaSize) }
                log.info("Cloned pid \(c.pid) on the address space of pid \(ctx.parent.pid) with \(created.count) more threads")
                let core = c.core
                let main = SeizedTask.ThreadResume(registers: CpuState.registers(core.threadInfo.gpregs),
                                                   xsave: CpuState.xsave(core.threadInfo.fpregs, size: xsaveSize),
                                                   sigmask: core.tc.blkSigset)
                out.append(PendingTask(task: task, states: threads.resumeStates(main: main, xsaveSize: xsaveSize, threads: created),
                                       stopped: options.leaveStopped || core.tc.taskState == TaskDump.taskStopped,
                                       shared: nil, pages: 0))
            } catch {
                task.forgetAddressSpace()
                throw EngineError.wrap(error, "restore process sharing the address space of pid \(ctx.parent.pid)", pid: c.pid)
            }
        }
        return out
    }
}
