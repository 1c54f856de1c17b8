import Glibc
import CSys
import Compel
import Images

/// Creates the task's other threads at their dumped tids, once its memory is back, and gives each its own
/// state. Each thread is born by a clone3 injected into the main thread; clones are traced, so the new
/// thread stops before its first instruction and never runs until every thread is detached together.
struct ThreadRestore {
    let r: Remote
    let images: ImageSet

    static let threadFlags: UInt64 = UInt64(CSYS_CLONE_VM | CSYS_CLONE_FS | CSYS_CLONE_FILES | CSYS_CLONE_SIGHAND | CSYS_CLONE_THREAD | CSYS_CLONE_SYSVSEM)
    private let argsOffset = 0, tidOffset = 128

    /// Returns the new threads, held.
    func create() throws -> [SeizedThread] {
        guard !images.threadCores.isEmpty else { return [] }
        // A thread starts with the name of the thread that cloned it: with the main thread's dumped name in
        // place first, the threads named like it (most) need no PR_SET_NAME of their own (restoreState).
        try TaskProps.setName(r, images.core.tc.comm)
        try r.task.traceClones(true)
        var out: [SeizedThread] = []
        var tids = NamespaceRestore.ThreadTids(task: r.pid)
        for (tid, _) in images.threadCores {
            var args = csys_clone_args()
            args.flags = Self.threadFlags
            args.set_tid = r.addr(tidOffset)
            args.set_tid_size = 1
            r.store(args, at: argsOffset)
            r.store(tid, at: tidOffset)
            let got = try r.raw(Int32(CSYS_NR_clone3), r.addr(argsOffset), UInt64(MemoryLayout<csys_clone_args>.size))
            if got < 0 {
                let e = Int32(-got)
                let why = e == EEXIST ? "tid \(tid) is in use; restore into a fresh pid namespace" : nil
                throw EngineError("clone3 thread at tid \(tid)", pid: r.pid, errno: .init(rawValue: e), reason: why)
            }
            guard got == Int64(tid) else {
                throw EngineError("clone3 thread", pid: r.pid, reason: "asked for tid \(tid), got \(got)")
            }
            // In a fresh pid namespace the task's tid is not the host's, which tracing needs.
            let host = r.pid == images.pid ? tid : try tids.host(tid)
            do { out.append(try r.task.adoptThread(host)) } catch {
                throw EngineError.wrap(error, "take over new thread", pid: tid)
            }
        }
        try r.task.traceClones(false)
        return out
    }

    /// Per-thread state of every thread but the main one: what each thread can only set for itself runs
    /// inside it; scheduling is set from outside.
    func restoreState(_ threads: [SeizedThread]) throws {
        for (t, (tid, core)) in zip(threads, images.threadCores) {
            let tr = r.inThread(t)
            let th = core.threadCore
            do {
                try TaskProps.restoreThreadCore(tr, th, clearTid: core.threadInfo.clearTidAddr_p)
                if th.hasComm && !Self.sameName(th.comm, images.core.tc.comm) { try TaskProps.setName(tr, th.comm) }
                if th.hasSas { try Signals.restoreAltStack(tr, th.sas) }
                if th.hasSignalsP { try Signals.restorePending(tr, tgid: images.pid, tid: tid, th.signalsP, shared: false) }
                if th.hasCreds { try Creds.restore(tr, th.creds) }
                // A new thread starts without one (and a creds change clears it): only a set one is injected.
                if th.pdeathSig != 0 { try TaskProps.restorePdeathSig(tr, th) }
                try TaskProps.restoreScheduling(pid: t.tid, th)
            } catch {
                throw EngineError.wrap(error, "restore thread", pid: tid)
            }
        }
    }

    /// Names as the kernel keeps them: at most 15 bytes.
    static func sameName(_ a: String, _ b: String) -> Bool { Array(a.utf8.prefix(15)) == Array(b.utf8.prefix(15)) }

    /// Registers, FPU state and signal mask each thread continues with.
    /// Keyed by host tid.
    func resumeStates(main: SeizedTask.ThreadResume, xsaveSize: Int, threads: [SeizedThread]) -> [Int32: SeizedTask.ThreadResume] {
        var out: [Int32: SeizedTask.ThreadResume] = [r.pid: main]
        for (t, (_, core)) in zip(threads, images.threadCores) {
            out[t.tid] = .init(registers: CpuState.registers(core.threadInfo.gpregs),
                             xsave: CpuState.xsave(core.threadInfo.fpregs, size: xsaveSize),
                             sigmask: core.threadCore.blkSigset)
        }
        return out
    }
}
