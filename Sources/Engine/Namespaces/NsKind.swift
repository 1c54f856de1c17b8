import CSys

/// The namespace kinds a task can be in, as /proc/PID/ns names them, with the clone flag that makes one.
enum NsKind: String, CaseIterable, Sendable {
    case pid, net, ipc, uts, mnt, user, cgroup, time

    var cloneFlag: UInt64 {
        switch self {
        case .pid: UInt64(CSYS_CLONE_NEWPID)
        case .net: UInt64(CSYS_CLONE_NEWNET)
        case .ipc: UInt64(CSYS_CLONE_NEWIPC)
        case .uts: UInt64(CSYS_CLONE_NEWUTS)
        case .mnt: UInt64(CSYS_CLONE_NEWNS)
        case .user: UInt64(CSYS_CLONE_NEWUSER)
        case .cgroup: UInt64(CSYS_CLONE_NEWCGROUP)
        case .time: UInt64(CSYS_CLONE_NEWTIME)
        }
    }

    /// Kinds the engine can give a tree of its own; the others must be criu's.
    static let supported: [NsKind] = [.pid, .net, .ipc, .uts, .mnt]
}
