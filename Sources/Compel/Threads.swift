import CSys
import Glibc
import SystemPackage

/// Threads a restorer creates inside a seized task, and the hand-over of a task with several threads.
extension SeizedTask {
    /// Makes threads the task creates with clone from now on traced by us from their first instruction
    /// (PTRACE_O_TRACECLONE), so a thread started by an injected clone3 never runs unheld.
    public func traceClones(_ on: Bool) throws {
        let t = mainThread
        try checkHeld(t)
        let opts = Int(CSYS_PTRACE_O_TRACESYSGOOD) | (on ? Int(CSYS_PTRACE_O_TRACECLONE) : 0)
        try ptraceChecked(CSYS_PTRACE_SETOPTIONS, t.tid, nil, ptraceData(opts), "PTRACE_SETOPTIONS")
    }

    /// Takes over a thread the task just created while clones are traced: waits for its first stop and
    /// holds it like a seized thread.
    @discardableResult
    public func adoptThread(_ tid: pid_t) throws -> SeizedThread {
        if let t = thread(tid) { return t }
        while true {
            let s = try waitForStop(tid, timeout: timeout, operation: "wait for new thread's first stop")
            if s.isEventStop { break }
            try ptraceChecked(CSYS_PTRACE_CONT, tid, nil, nil, "PTRACE_CONT new thread")
        }
        let t = SeizedThread(tid: tid, wasStopped: false, regs: try getRegisters(tid: tid))
        threads.append(t)
        return t
    }

    /// What one thread continues with after `detachAll`.
    public struct ThreadResume {
        public var registers: GeneralRegisters
        public var xsave: XsaveArea?
        public var sigmask: UInt64
        public init(registers: GeneralRegisters, xsave: XsaveArea?, sigmask: UInt64) {
            self.registers = registers
            self.xsave = xsave
            self.sigmask = sigmask
        }
    }

    /// Detaches every held thread with the state given for its tid (all threads must be given), the main
    /// thread last, so the other threads are already set when the process as a whole can run.
    public func detachAll(_ states: [pid_t: ThreadResume], stopped: Bool = false) throws {
        for t in threads where states[t.tid] == nil {
            throw CompelError(pid: t.tid, "detach", detail: "no registers given for this thread")
        }
        for t in threads {
            var regs = states[t.tid]!.registers
            regs.orig_rax = UInt64.max
            if let x = states[t.tid]!.xsave { try setXsave(tid: t.tid, x) }
            try setRegisters(tid: t.tid, regs)
            try setSigmask(tid: t.tid, states[t.tid]!.sigmask)
            t.resumeRegisters = regs
            t.savedSigmask = nil
            t.savedXsave = nil
        }
        if stopped { _ = csys_tgkill(pid, pid, SIGSTOP) }
        let ordered = threads.filter { $0.tid != pid } + threads.filter { $0.tid == pid }
        for t in ordered {
            for s in t.caughtSignals { _ = csys_tgkill(pid, t.tid, s) }
            t.caughtSignals = []
            if csys_ptrace(Int(CSYS_PTRACE_DETACH), t.tid, nil, nil) < 0 {
                throw CompelError(pid: t.tid, "PTRACE_DETACH", errno: Errno(rawValue: errno))
            }
            t.detached = true
        }
        cured = true
    }
}
