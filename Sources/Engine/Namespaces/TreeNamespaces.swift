import Glibc
import CSys
import Images

/// Which namespaces a dumped tree lives in, next to criu's own. The tree must be in one set of
/// namespaces: criu's, or, for the supported kinds, ones of its own entered by the root. A task in a
/// namespace other than its root's (nested pid namespace, a private uts or net...) is refused, by pid and
/// kind, rather than restored half right.
struct TreeNamespaces {
    /// Kernel ns inode per kind, for criu and for the root task.
    let criu: [NsKind: UInt64]
    let root: [NsKind: UInt64]
    let rootPid: Int32

    /// Kinds in which the root is not in criu's namespace.
    var own: [NsKind] { NsKind.allCases.filter { root[$0] != nil && root[$0] != criu[$0] } }
    var ownPidNs: Bool { own.contains(.pid) }

    static func links(_ pid: Int32) throws -> [NsKind: UInt64] {
        var out: [NsKind: UInt64] = [:]
        let ids: [NamespaceId]
        do { ids = try Namespaces.read(pid: pid) } catch {
            throw EngineError("read namespaces", pid: pid, path: "/proc/\(pid)/ns", reason: "\(error)")
        }
        for id in ids { if let k = NsKind(rawValue: id.name) { out[k] = id.inode } }
        // pid_for_children differs from pid after unshare(CLONE_NEWPID): the task's next child would be
        // in a nested pid namespace.
        if let forChildren = ids.first(where: { $0.name == "pid_for_children" }), let p = out[.pid], forChildren.inode != p {
            throw EngineError("dump", pid: pid, reason: "unshared its pid namespace (pid_for_children differs); nested pid namespaces are not supported")
        }
        return out
    }

    /// Checks the root and every live task; `live` are host pids of seized tasks (zombies have no links).
    static func analyze(root: Int32, live: [Int32]) throws -> TreeNamespaces {
        let ns = TreeNamespaces(criu: try links(getpid()), root: try links(root), rootPid: root)
        for k in ns.own where !NsKind.supported.contains(k) {
            throw EngineError("dump", pid: root, reason: "is in a \(k.rawValue) namespace of its own (\(k.rawValue):[\(ns.root[k]!)]); only pid, net, ipc, uts and mnt namespaces are supported")
        }
        if ns.ownPidNs {
            let st = try Status.read(pid: root)
            guard st.nsPid.last == 1 else {
                throw EngineError("dump", pid: root, reason: "is in a pid namespace of its own as pid \(st.nsPid.last ?? 0), not as its init (pid 1); dump the namespace's init")
            }
        }
        for pid in live where pid != root {
            let l = try links(pid)
            for k in NsKind.allCases where l[k] != ns.root[k] {
                throw EngineError("dump", pid: pid, reason: "is in \(k.rawValue) namespace [\(l[k] ?? 0)], its root task \(root) in [\(ns.root[k] ?? 0)]; tasks in nested or other namespaces are not supported")
            }
        }
        return ns
    }

    /// The ids images use: criu's namespaces keep the fixed ids every dump uses, the tree's own ones get
    /// ids above them. The inventory's root_ids hold criu's view, each task's ids the tree's: the restore
    /// creates the kinds whose ids differ, as CRIU does.
    func ids(into e: inout TaskKobjIdsEntry, criuView: Bool) {
        let mine: Set<NsKind> = criuView ? [] : Set(own)
        func id(_ k: NsKind, _ criuId: UInt32) -> UInt32 { mine.contains(k) ? criuId + 100 : criuId }
        e.pidNsID = id(.pid, 2)
        e.netNsID = id(.net, 3)
        e.ipcNsID = id(.ipc, 4)
        e.utsNsID = id(.uts, 5)
        e.mntNsID = id(.mnt, 6)
        e.userNsID = id(.user, 7)
        e.cgroupNsID = id(.cgroup, 8)
        e.timeNsID = id(.time, 9)
    }

    /// The pid a task has inside the tree's pid namespace (the last NSpid entry), from host pid.
    static func innerIds(_ status: TaskStatus) -> (pid: Int32, pgid: Int32, sid: Int32)? {
        guard let p = status.nsPid.last, let g = status.nsPgid.last, let s = status.nsSid.last else { return nil }
        return (p, g, s)
    }
}
