import CSys
import Compel
import Glibc

/// Fault injection for tests: `CRIU_FAULT=N` makes the step numbered N fail as if the kernel had refused it,
/// so each failure path can be shown to leave nothing behind.
public enum FaultStep: Int, CaseIterable, Sendable {
    // dump
    case dumpAfterSeize = 1
    case dumpAfterCore = 2
    case dumpMidMemory = 3
    case dumpAfterMemory = 4
    case dumpAfterFiles = 5
    case dumpBeforeFinish = 6
    case dumpAfterFirstTask = 7
    /// the tree was checked for state shared across processes (CLONE_FILES/FS/SIGHAND/VM)
    case dumpAfterSharingCheck = 8
    // dump: criu kills itself with SIGKILL, as a user might, while code of ours is in the task
    /// the first injected syscall (the mmap of the shared area) is running
    case dumpKillInSyscall = 11
    /// the shared area's memfd is open in the task
    case dumpKillMemfdOpen = 12
    /// the batch loop runs or waits for the next batch
    case dumpKillInBatch = 13
    /// the task's state is read, every thread waits between injected calls
    case dumpKillParked = 14
    /// the memfd_create of the shared area is running: its descriptor is not yet on the way back
    case dumpKillCreatingMemfd = 15
    // restore
    case restoreAfterRead = 101
    case restoreAfterFork = 102
    case restoreMidMemory = 103
    case restoreAfterMemory = 104
    case restoreBeforeResume = 105
    case restoreAfterThreads = 106
    case restoreAfterFirstTask = 107
    /// every task forked and every helper task (dead session/group leaders) gone again
    case restoreAfterHelpers = 108
    case restoreAfterNamespaces = 109
    case restoreAfterPidMap = 110
    /// a process sharing its parent's address space was cloned in the parent (SharedMm)
    case restoreAfterSharedMm = 113
    /// in the first holder of a shared fd table (CLONE_FILES), once every sharer prepared
    case restoreAfterTableSharers = 115
    /// the child of a parent inside vfork was cloned with CLONE_VFORK; the parent is held at its vfork event
    case restoreAfterVforkClone = 120
}

public struct Faults: Sendable {
    public let step: Int?

    public init(environment value: String?) {
        step = value.flatMap { Int($0) }
    }

    public static func fromEnvironment() -> Faults {
        Faults(environment: getenv("CRIU_FAULT").map { String(cString: $0) })
    }

    /// Kills criu with SIGKILL at step `s` when it is the one asked for: nothing of criu's cleanup runs.
    public func die(_ s: FaultStep, note: (String) -> Void) {
        guard step == s.rawValue else { return }
        note("CRIU_FAULT=\(s.rawValue) (\(s)): killing criu with SIGKILL")
        _ = Glibc.kill(getpid(), SIGKILL)
    }

    /// The injection moments of the kill steps, for SeizedTask.onInjection (nil when none is asked for).
    public func injectionKiller(note: @escaping (String) -> Void) -> ((InjectionEvent) -> Void)? {
        let s: FaultStep
        switch step {
        case FaultStep.dumpKillInSyscall.rawValue: s = .dumpKillInSyscall
        case FaultStep.dumpKillMemfdOpen.rawValue: s = .dumpKillMemfdOpen
        case FaultStep.dumpKillInBatch.rawValue: s = .dumpKillInBatch
        case FaultStep.dumpKillCreatingMemfd.rawValue: s = .dumpKillCreatingMemfd
        default: return nil
        }
        return { event in
            switch (s, event) {
            case (.dumpKillInSyscall, .syscallRunning), (.dumpKillMemfdOpen, .memfdOpen), (.dumpKillInBatch, .batchRunning):
                self.die(s, note: note)
            case (.dumpKillCreatingMemfd, .syscallRunning(let nr)) where nr == Int(SYS_memfd_create):
                self.die(s, note: note)
            default: break
            }
        }
    }

    public func check(_ s: FaultStep) throws {
        if step == s.rawValue {
            throw EngineError("fault injection", reason: "CRIU_FAULT=\(s.rawValue) (\(s)) triggered")
        }
    }
}
