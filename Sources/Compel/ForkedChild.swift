import CSys
import Glibc
import SystemPackage

/// Processes a restorer creates inside a seized task with an injected fork or clone: traced from birth,
/// so the new process never runs unheld.
extension SeizedTask {
    /// Makes processes the task creates from now on (fork, or clone with SIGCHLD) traced by us from
    /// their first instruction (PTRACE_O_TRACEFORK).
    public func traceForks(_ on: Bool) throws {
        let t = mainThread
        try checkHeld(t)
        let opts = Int(CSYS_PTRACE_O_TRACESYSGOOD) | (on ? Int(CSYS_PTRACE_O_TRACEFORK) : 0)
        try ptraceChecked(CSYS_PTRACE_SETOPTIONS, t.tid, nil, ptraceData(opts), "PTRACE_SETOPTIONS")
    }

    /// Takes over a process a held task just created while forks were traced: waits for its first stop
    /// and holds it as a seized single-threaded task. It inherited the creator's ptrace options; those
    /// are set back to ours.
    public static func adoptChild(_ pid: pid_t, timeout: Duration) throws -> SeizedTask {
        let task = SeizedTask(pid: pid, wasStopped: false, timeout: timeout)
        while true {
            let s = try waitForStop(pid, timeout: timeout, operation: "wait for new process's first stop")
            if s.isEventStop { break }
            try ptraceChecked(CSYS_PTRACE_CONT, pid, nil, nil, "PTRACE_CONT new process")
        }
        task.threads.append(SeizedThread(tid: pid, wasStopped: false, regs: try getRegisters(tid: pid)))
        try ptraceChecked(CSYS_PTRACE_SETOPTIONS, pid, nil, ptraceData(Int(CSYS_PTRACE_O_TRACESYSGOOD)), "PTRACE_SETOPTIONS")
        return task
    }
}
