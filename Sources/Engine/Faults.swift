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

    public func check(_ s: FaultStep) throws {
        if step == s.rawValue {
            throw EngineError("fault injection", reason: "CRIU_FAULT=\(s.rawValue) (\(s)) triggered")
        }
    }
}
