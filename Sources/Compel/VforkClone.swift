import CSys
import Glibc
import SystemPackage

/// Recreating a parent inside vfork(): the restorer makes the parent clone its child with CLONE_VFORK and
/// holds the parent at PTRACE_EVENT_VFORK, which the kernel reports after the child exists and before the
/// parent starts waiting for it. There the parent's dumped registers are set; once let go, the parent
/// sleeps in the kernel until the child execs or exits, then returns to them with rax = the child's pid.
extension SeizedTask {
    /// Runs clone3 (arguments at `args` in the task, `size` bytes, flags including CLONE_VFORK) in the main
    /// thread and stops it at PTRACE_EVENT_VFORK. Returns the child's pid as we see it; the child is
    /// traced from its first instruction (take it with `adoptChild`). The main thread stays in the event
    /// stop: set its registers, then `continueIntoVforkWait` or detach it.
    /// `atEntry` runs at the syscall-entry stop, just before the kernel runs the clone3 (the shortest
    /// window for a caller that sets ns_last_pid).
    public func injectVforkClone3(args: UInt64, size: UInt64, reportDone: Bool = false,
                                  atEntry: (() throws -> Void)? = nil) throws -> pid_t {
        let t = mainThread
        try checkHeld(t)
        try quietSignals(t)
        let site = try findSyscallSite()
        t.touched = true
        var regs = t.resumeRegisters
        regs.rax = UInt64(CSYS_NR_clone3)
        regs.orig_rax = UInt64.max
        regs.rip = site
        regs.rdi = args
        regs.rsi = size
        try setRegisters(tid: t.tid, regs)
        let opts = Int(CSYS_PTRACE_O_TRACESYSGOOD) | Int(CSYS_PTRACE_O_TRACEVFORK) | (reportDone ? Int(CSYS_PTRACE_O_TRACEVFORKDONE) : 0)
        try ptraceChecked(CSYS_PTRACE_SETOPTIONS, t.tid, nil, ptraceData(opts), "PTRACE_SETOPTIONS")
        do {
            try resume(t, CSYS_PTRACE_SYSCALL, until: { $0.isSyscallStop }, "clone3(CLONE_VFORK): run to syscall entry")
            if let atEntry {
                do { try atEntry() } catch {
                    // Skip the call: orig_rax -1 at the entry stop runs no syscall.
                    var r = try getRegisters(tid: t.tid)
                    r.orig_rax = UInt64.max
                    try setRegisters(tid: t.tid, r)
                    try resume(t, CSYS_PTRACE_SYSCALL, until: { $0.isSyscallStop }, "clone3(CLONE_VFORK): skip it")
                    try setRegisters(tid: t.tid, t.resumeRegisters)
                    throw error
                }
            }
            var exit: WaitStatus?
            try resume(t, CSYS_PTRACE_SYSCALL, until: { s in
                if s.isSyscallStop { exit = s; return true }
                return s.isStopped && s.event == CSYS_PTRACE_EVENT_VFORK
            }, "clone3(CLONE_VFORK): run to the vfork event")
            if exit != nil {
                let rax = Int64(bitPattern: try getRegisters(tid: t.tid).rax)
                try setRegisters(tid: t.tid, t.resumeRegisters)
                throw CompelError(pid: t.tid, "clone3(CLONE_VFORK)", errno: Errno(rawValue: Int32(rax < 0 ? -rax : 0)))
            }
        } catch {
            _ = try? ptraceChecked(CSYS_PTRACE_SETOPTIONS, t.tid, nil, ptraceData(Int(CSYS_PTRACE_O_TRACESYSGOOD)), "PTRACE_SETOPTIONS")
            throw error
        }
        var msg: UInt = 0
        try ptraceChecked(CSYS_PTRACE_GETEVENTMSG, t.tid, nil, &msg, "PTRACE_GETEVENTMSG")
        return pid_t(truncatingIfNeeded: msg)
    }

    /// Lets the main thread, held at PTRACE_EVENT_VFORK, go on into the kernel's wait for its child, still
    /// traced: with `reportDone` it stops again at PTRACE_EVENT_VFORK_DONE once the child execs or exits.
    public func continueIntoVforkWait() throws {
        try ptraceChecked(CSYS_PTRACE_CONT, mainThread.tid, nil, nil, "PTRACE_CONT into the vfork wait")
    }

    /// Waits (up to the task's timeout) for the PTRACE_EVENT_VFORK_DONE stop after `continueIntoVforkWait`.
    public func waitVforkDone() throws {
        let t = mainThread
        while true {
            let s = try waitForStop(t.tid, timeout: timeout, operation: "wait for the vfork child to exec or exit")
            if s.isStopped && s.event == CSYS_PTRACE_EVENT_VFORK_DONE { break }
            if s.isSignalDeliveryStop { t.caughtSignals.append(s.stopSignal) }
            try ptraceChecked(CSYS_PTRACE_CONT, t.tid, nil, nil, "PTRACE_CONT into the vfork wait")
        }
        try ptraceChecked(CSYS_PTRACE_SETOPTIONS, t.tid, nil, ptraceData(Int(CSYS_PTRACE_O_TRACESYSGOOD)), "PTRACE_SETOPTIONS")
    }

    /// From the PTRACE_EVENT_VFORK_DONE stop (or the PTRACE_EVENT_VFORK stop once the child is gone),
    /// runs the thread to the end of the clone3 and returns its result (the child's pid in the task's
    /// pid namespace) and registers there.
    public func finishVforkClone() throws -> GeneralRegisters {
        let t = mainThread
        try resume(t, CSYS_PTRACE_SYSCALL, until: { $0.isSyscallStop }, "clone3(CLONE_VFORK): run to syscall exit")
        return try getRegisters(tid: t.tid)
    }
}
