import CSys
import Glibc
import SystemPackage

/// A wait status of a traced thread, decoded.
struct WaitStatus {
    let raw: Int32

    var isStopped: Bool { csys_wifstopped(raw) != 0 }
    var stopSignal: Int32 { csys_wstopsig(raw) }
    var event: Int32 { Int32(csys_wptrace_event(raw)) }
    /// A syscall-entry or -exit stop (PTRACE_O_TRACESYSGOOD sets bit 7 of the signal).
    var isSyscallStop: Bool { isStopped && stopSignal == (SIGTRAP | 0x80) }
    /// PTRACE_EVENT_STOP: an interrupt trap (SIGTRAP) or a group-stop (a stop signal).
    var isEventStop: Bool { isStopped && event == CSYS_PTRACE_EVENT_STOP }
    /// A signal-delivery-stop: the thread is about to take `stopSignal`.
    var isSignalDeliveryStop: Bool { isStopped && event == 0 && !isSyscallStop }

    var exitDescription: String {
        if csys_wifexited(raw) != 0 { return "task exited with code \(csys_wexitstatus(raw)) while held" }
        if csys_wifsignaled(raw) != 0 { return "task was killed by signal \(csys_wtermsig(raw)) while held" }
        return "unexpected wait status \(raw)"
    }
}

/// Waits for the next ptrace-stop of `tid` in a blocking waitpid: for a call that certainly ends (it cannot
/// block in the task), while other threads need the CPUs that polling would take.
func waitForStopBlocking(_ tid: pid_t, operation: String) throws -> WaitStatus {
    while true {
        var status: Int32 = 0
        let r = csys_waitpid(tid, &status, CSYS_WALL)
        if r == tid {
            let s = WaitStatus(raw: status)
            if s.isStopped { return s }
            throw CompelError(pid: tid, operation, detail: s.exitDescription)
        }
        let e = Errno(rawValue: errno)
        if r < 0 && e == .interrupted { continue }
        throw CompelError(pid: tid, operation, errno: e, detail: e == .noChildProcess ? "task is gone or not traced by us" : nil)
    }
}

/// Waits for the next ptrace-stop of `tid`, polling so that a thread that never stops (it exited, or someone
/// else reaped it) becomes an error after `timeout` instead of a hang. Exits are errors too.
func waitForStop(_ tid: pid_t, timeout: Duration, operation: String) throws -> WaitStatus {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    var spins = 0
    var nap: Int = 20_000  // ns
    while true {
        var status: Int32 = 0
        let r = csys_waitpid(tid, &status, CSYS_WALL | CSYS_WNOHANG)
        if r == tid {
            let s = WaitStatus(raw: status)
            if s.isStopped { return s }
            throw CompelError(pid: tid, operation, detail: s.exitDescription)
        }
        if r < 0 {
            let e = Errno(rawValue: errno)
            if e == .interrupted { continue }
            throw CompelError(pid: tid, operation, errno: e,
                              detail: e == .noChildProcess ? "task is gone or not traced by us" : nil)
        }
        if clock.now >= deadline {
            throw CompelError(pid: tid, operation, errno: .timedOut,
                              detail: "no ptrace-stop within \(timeout)")
        }
        // Stops normally arrive within microseconds: yield first, then back off to short sleeps.
        if spins < 2000 {
            spins += 1
            sched_yield()
        } else {
            var ts = timespec(tv_sec: 0, tv_nsec: nap)
            nanosleep(&ts, nil)
            nap = min(nap * 2, 5_000_000)
        }
    }
}

/// ptrace that throws a CompelError naming the thread and request.
@discardableResult
func ptraceChecked(_ request: Int32, _ tid: pid_t, _ addr: UnsafeMutableRawPointer?, _ data: UnsafeMutableRawPointer?,
                   _ name: String) throws -> Int {
    let r = csys_ptrace(Int(request), tid, addr, data)
    if r < 0 { throw CompelError(pid: tid, name, errno: Errno(rawValue: errno)) }
    return r
}

func ptraceData(_ v: Int) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: v) }
