import Glibc
import Images

/// The namespace images of a dump whose root has namespaces of its own, and their reading back.
/// File names carry the ns id from the tasks' TaskKobjIdsEntry, as CRIU's do.
struct NamespaceImages {
    /// Kinds the restore creates for the root (their ids differ from the inventory's root_ids).
    var kinds: [NsKind] = []
    var uts: UtsnsEntry?
    var netDevices: [NetDeviceEntry] = []
    var mounts: [MntEntry]?

    var ownPidNs: Bool { kinds.contains(.pid) }
    var cloneFlags: UInt64 { kinds.reduce(0) { $0 | $1.cloneFlag } }

    /// Reads what the root's own namespaces need. Writes nothing; called with the tree frozen.
    static func dump(_ ns: TreeNamespaces) throws -> NamespaceImages {
        var out = NamespaceImages(kinds: ns.own)
        let pid = ns.rootPid
        if out.kinds.contains(.uts) { out.uts = try UtsNamespace.dump(pid: pid) }
        if out.kinds.contains(.net) { out.netDevices = [try NetNamespace.dump(pid: pid)] }
        if out.kinds.contains(.ipc) { try IpcNamespace.check(pid: pid) }
        if out.kinds.contains(.mnt) { out.mounts = try MountNamespace.dump(pid: pid) }
        return out
    }

    func write(_ dir: ImageDir, ids: TaskKobjIdsEntry) throws {
        if let uts { try dir.write(ImageKind.byName("UTSNS")!.fileName(UInt64(ids.utsNsID)), ImageKind.byName("UTSNS")!, [uts]) }
        if kinds.contains(.net) {
            try dir.write(ImageKind.byName("NETDEV")!.fileName(UInt64(ids.netNsID)), ImageKind.byName("NETDEV")!, netDevices)
            try dir.write(ImageKind.byName("NETNS")!.fileName(UInt64(ids.netNsID)), ImageKind.byName("NETNS")!, [NetnsEntry()])
        }
        if let mounts {
            try dir.write(ImageKind.byName("MNTS")!.fileName(UInt64(ids.mntNsID)), ImageKind.byName("MNTS")!, mounts)
        }
    }

    /// Compares the root task's ids with the inventory's root_ids (criu's namespaces at dump).
    static func read(_ dir: ImageDir, rootIds: TaskKobjIdsEntry, taskIds: TaskKobjIdsEntry) throws -> NamespaceImages {
        var out = NamespaceImages()
        let pairs: [(NsKind, UInt32, UInt32)] = [
            (.pid, rootIds.pidNsID, taskIds.pidNsID), (.net, rootIds.netNsID, taskIds.netNsID),
            (.ipc, rootIds.ipcNsID, taskIds.ipcNsID), (.uts, rootIds.utsNsID, taskIds.utsNsID),
            (.mnt, rootIds.mntNsID, taskIds.mntNsID), (.user, rootIds.userNsID, taskIds.userNsID),
            (.cgroup, rootIds.cgroupNsID, taskIds.cgroupNsID), (.time, rootIds.timeNsID, taskIds.timeNsID),
        ]
        out.kinds = pairs.filter { $0.1 != $0.2 }.map(\.0)
        if let k = out.kinds.first(where: { !NsKind.supported.contains($0) }) {
            throw EngineError("read images", path: dir.file("inventory.img"), reason: "the tree has a \(k.rawValue) namespace of its own; not supported")
        }
        if out.kinds.contains(.uts) {
            let kind = ImageKind.byName("UTSNS")!
            out.uts = try dir.readOne(kind.fileName(UInt64(taskIds.utsNsID)), kind, as: UtsnsEntry.self)
        }
        if out.kinds.contains(.net) {
            let kind = ImageKind.byName("NETDEV")!
            out.netDevices = try dir.readAll(kind.fileName(UInt64(taskIds.netNsID)), kind, as: NetDeviceEntry.self)
            if let other = out.netDevices.first(where: { $0.type != NetNamespace.loopbackType }) {
                throw EngineError("read images", path: dir.file(kind.fileName(UInt64(taskIds.netNsID))),
                                  reason: "link \"\(other.name)\" is not loopback; only loopback is supported")
            }
        }
        if out.kinds.contains(.mnt) {
            let kind = ImageKind.byName("MNTS")!
            out.mounts = try dir.readAll(kind.fileName(UInt64(taskIds.mntNsID)), kind, as: MntEntry.self)
        }
        return out
    }
}
