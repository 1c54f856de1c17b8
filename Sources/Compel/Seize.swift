import CSys
import Glibc
import SystemPackage

/// One thread of a seized task, held in a ptrace-stop.
public final class SeizedThread {
    public let tid: pid_t
    /// The thread was in group-stop (SIGSTOP and friends) when we seized it; cure leaves it stopped.
    public let wasStopped: Bool
    /// The registers the thread will resume with at cure once we ran anything in it. Seize reads them and
    /// applies any pending syscall restart (see `interruptedSyscall`); set them to change where the thread
    /// goes after cure.
    public var resumeRegisters: GeneralRegisters { didSet { touched = true } }
    /// We ran code in the thread or changed its registers. An untouched thread keeps its raw registers, so
    /// the kernel's own restart logic (EINTR when a handler runs, restart otherwise) applies unchanged.
    var touched = false
    /// The raw registers at the seize, before the restart adjustment.
    public let seizedRegisters: GeneralRegisters
    /// The syscall the thread was blocked in when we stopped it, which it re-enters after cure.
    public let interruptedSyscall: InterruptedSyscall?

    /// The blocked-signal mask before we blocked everything for injected code (nil: never changed).
    var savedSigmask: UInt64?
    /// The XSAVE area before a blob ran (nil: no blob ran, the FPU state is untouched).
    var savedXsave: XsaveArea?
    /// Signals the thread was about to take while we held it; they are sent again before detach.
    var caughtSignals: [Int32] = []
    /// Set when cure finished with the thread or it vanished.
    var detached = false
    /// The signal frames below its stack pointer that bring it back if criu dies (Lifeline.swift).
    var lifeline: ThreadLifeline?

    /// What the thread was doing when we seized it.
    public enum PriorState: Equatable, Sendable {
        case running
        case inSyscall(InterruptedSyscall)
        case stopped
    }

    public var priorState: PriorState {
        if wasStopped { return .stopped }
        if let sc = interruptedSyscall { return .inSyscall(sc) }
        return .running
    }

    init(tid: pid_t, wasStopped: Bool, regs: GeneralRegisters) {
        self.tid = tid
        self.wasStopped = wasStopped
        self.seizedRegisters = regs
        let (adj, sc) = restartAdjusted(regs)
        self.resumeRegisters = adj
        self.interruptedSyscall = sc
    }
}

/// A thread group held by ptrace. Everything Compel does to a task goes through this object; `cure()`
/// undoes it all and detaches.
public final class SeizedTask {
    public let pid: pid_t
    public internal(set) var threads: [SeizedThread] = []
    /// The process was stopped (State "T (stopped)") before the seize; cure keeps it stopped.
    public let wasStopped: Bool
    /// How long any single wait for the task may take before it is an error.
    public var timeout: Duration

    // Traces left in the task, removed by cure.
    var addedMappings: [(addr: UInt64, length: UInt64)] = []
    var sharedAreas: [SharedArea] = []
    var syscallSite: UInt64?
    /// Original bytes at the fallback syscall site when we had to write one (no vdso).
    var patchedSite: (addr: UInt64, original: [UInt8])?
    /// Where the batch loop is, in memory shared with the task and executable there (Batch.swift).
    var batchCode: UInt64?
    var memFd: Int32 = -1
    var pidFd: Int32 = -1
    var cured = false

    /// Make every thread that runs injected code able to return to its own state by itself if criu dies
    /// meanwhile (Lifeline.swift). Off by default: a restore's tasks are killed on failure instead.
    public var selfHealing = false
    var healPathState: HealPathState = .unknown
    /// What the way back undoes before the thread's own frame: our memfd's fd in the task, our area.
    var healClose: UInt64?
    var healUnmap: (addr: UInt64, length: UInt64)?
    /// The one thread whose way back closes and unmaps (the one running our code last).
    var healOwner: SeizedThread?
    var unarmed: [(tid: pid_t, reason: String)] = []
    var healMaps: [MapEntry] = []
    /// Called at the moments of an injection a dying criu must be tested at (fault injection).
    public var onInjection: ((InjectionEvent) -> Void)?

    /// The first thread, whose tid is the pid.
    public var mainThread: SeizedThread { threads.first(where: { $0.tid == pid }) ?? threads[0] }

    public func thread(_ tid: pid_t) -> SeizedThread? { threads.first(where: { $0.tid == tid }) }

    /// Seizes every thread of `pid` and stops it with PTRACE_INTERRUPT. The victim is never killed by us:
    /// no PTRACE_O_EXITKILL. Threads created while we seize are caught by re-reading /proc/PID/task until
    /// it no longer changes (a stopped thread cannot create new ones).
    public static func seize(_ pid: pid_t, timeout: Duration = .seconds(10)) throws -> SeizedTask {
        guard pid > 1 else { throw CompelError(pid: pid, "seize", errno: .permissionDenied, detail: "refusing to seize pid \(pid)") }
        let state: Character?
        do { state = try threadState(pid: pid, tid: pid) } catch let e as CompelError {
            throw CompelError(pid: pid, "seize", errno: .noSuchProcess, detail: e.description)
        }
        if state == "Z" || state == "X" {
            throw CompelError(pid: pid, "seize", errno: .noSuchProcess, detail: "process is a zombie")
        }
        let task = SeizedTask(pid: pid, wasStopped: state == "T", timeout: timeout)
        do {
            try task.seizeAllThreads()
        } catch {
            task.releaseAfterFailedSeize()
            throw error
        }
        return task
    }

    init(pid: pid_t, wasStopped: Bool, timeout: Duration) {
        self.pid = pid
        self.wasStopped = wasStopped
        self.timeout = timeout
    }

    private var seizedTids: Set<pid_t> = []

    private func seizeAllThreads() throws {
        while true {
            let tids = try listThreads(pid: pid).filter { !seizedTids.contains($0) }
            if tids.isEmpty { break }
            // Seize and interrupt every new thread first, then collect the stops: the threads reach their
            // stops side by side instead of one wake-up and wait after another (1000 threads: 1000 round trips).
            var interrupted: [pid_t] = []
            interrupted.reserveCapacity(tids.count)
            for tid in tids {
                let r = csys_ptrace(Int(CSYS_PTRACE_SEIZE), tid, nil, ptraceData(Int(CSYS_PTRACE_O_TRACESYSGOOD)))
                if r < 0 {
                    let e = Errno(rawValue: errno)
                    // A thread that exited between the listing and the seize is simply gone.
                    if e == .noSuchProcess && tid != pid { continue }
                    var detail: String? = nil
                    if e == .permissionDenied || e == .notPermitted {
                        let tracer = tracerPid(pid: pid, tid: tid)
                        detail = tracer != 0 ? "already traced by pid \(tracer)" : "permission denied"
                    }
                    throw CompelError(pid: tid, "PTRACE_SEIZE", errno: e, detail: detail)
                }
                seizedTids.insert(tid)
                if csys_ptrace(Int(CSYS_PTRACE_INTERRUPT), tid, nil, nil) < 0 {
                    let e = Errno(rawValue: errno)
                    if e == .noSuchProcess && tid != pid { continue }
                    throw CompelError(pid: tid, "PTRACE_INTERRUPT", errno: e)
                }
                interrupted.append(tid)
            }
            for tid in interrupted {
                guard let (regs, caught, groupStop) = try waitForInterrupt(tid) else { continue }
                let t = SeizedThread(tid: tid, wasStopped: groupStop || wasStopped, regs: regs)
                t.caughtSignals = caught
                threads.append(t)
            }
        }
        guard threads.contains(where: { $0.tid == pid }) else {
            throw CompelError(pid: pid, "seize", errno: .noSuchProcess, detail: "main thread is gone")
        }
    }

    /// Waits for the interrupt trap (SIGTRAP) or group-stop trap (the stop signal) of PTRACE_EVENT_STOP; a
    /// signal arriving first is kept for re-delivery. Returns nil when a non-main thread exited meanwhile.
    private func waitForInterrupt(_ tid: pid_t) throws -> (GeneralRegisters, [Int32], Bool)? {
        var caught: [Int32] = []
        var groupStop = false
        while true {
            let s: WaitStatus
            do { s = try waitForStop(tid, timeout: timeout, operation: "wait for PTRACE_INTERRUPT stop") } catch let e as CompelError {
                let gone = e.errno == nil || e.errno == .noChildProcess
                if gone && tid != pid { return nil }
                throw e
            }
            if s.isEventStop { groupStop = s.stopSignal != SIGTRAP; break }
            if s.isSignalDeliveryStop { caught.append(s.stopSignal) }
            try ptraceChecked(CSYS_PTRACE_CONT, tid, nil, nil, "PTRACE_CONT")
        }
        if !caught.isEmpty { pendingCaught[tid] = caught }
        return (try getRegisters(tid: tid), caught, groupStop)
    }

    /// Signals caught during the seize, for re-delivery if the seize fails.
    private var pendingCaught: [pid_t: [Int32]] = [:]

    /// After a failed seize, let go of whatever we already hold without changing it.
    private func releaseAfterFailedSeize() {
        for tid in seizedTids where csys_ptrace(Int(CSYS_PTRACE_DETACH), tid, nil, nil) < 0 {
            // Detach needs a ptrace-stop: a thread whose interrupt trap we never saw must reach it first.
            _ = csys_ptrace(Int(CSYS_PTRACE_INTERRUPT), tid, nil, nil)
            if (try? waitForStop(tid, timeout: .seconds(1), operation: "stop before detach")) != nil {
                _ = csys_ptrace(Int(CSYS_PTRACE_DETACH), tid, nil, nil)
            }
        }
        for (tid, sigs) in pendingCaught { for s in sigs { _ = csys_tgkill(pid, tid, s) } }
        threads = []
        cured = true
    }

    deinit {
        if !cured { try? cure() }
        if memFd >= 0 { close(memFd) }
        if pidFd >= 0 { close(pidFd) }
    }
}
