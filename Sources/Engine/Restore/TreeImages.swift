import Glibc
import CSys
import Images

/// The images of a whole dumped tree, read and checked before anything is created: every live task's
/// image set, the zombies' exit statuses, and the tree's shape.
struct TreeImages {
    let entries: [PstreeEntry]
    /// Live tasks, keyed by pid.
    let live: [Int32: ImageSet]
    /// Zombies: pid -> their core (wait status, name, ids, signal dispositions).
    let zombies: [Int32: CoreEntry]
    /// Namespaces of its own the root is restored in (none for a tree dumped in criu's).
    var namespaces = NamespaceImages()

    var root: Int32 { Int32(bitPattern: entries[0].pid) }

    static func read(_ dir: ImageDir) throws -> TreeImages {
        let inv = try dir.readOne("inventory.img", .inventory, as: InventoryEntry.self)
        guard inv.imgVersion == 2 else {
            throw EngineError("read images", path: dir.file("inventory.img"), reason: "image version \(inv.imgVersion) is not supported (want 2)")
        }
        let tree = try dir.readAll("pstree.img", .pstree, as: PstreeEntry.self)
        guard !tree.isEmpty else { throw EngineError("read images", path: dir.file("pstree.img"), reason: "no tasks") }
        var files: [UInt32: FileEntry] = [:]
        for f in try dir.readAll("files.img", .files, as: FileEntry.self) { files[f.id] = f }
        var live: [Int32: ImageSet] = [:], zombies: [Int32: CoreEntry] = [:]
        var pids = Set<UInt32>()
        for (i, ps) in tree.enumerated() {
            guard pids.insert(ps.pid).inserted else {
                throw EngineError("read images", path: dir.file("pstree.img"), reason: "pid \(ps.pid) is listed twice")
            }
            if i > 0 && !pids.contains(ps.ppid) {
                throw EngineError("read images", path: dir.file("pstree.img"),
                                  reason: "task \(ps.pid) comes before its parent \(ps.ppid) or its parent is not in the tree")
            }
            let core = try dir.readOne("core-\(ps.pid).img", .core, as: CoreEntry.self)
            if core.hasTc && core.tc.taskState == TaskDump.taskDead {
                guard i > 0 else {
                    throw EngineError("read images", path: dir.file("core-\(ps.pid).img"), reason: "the root task is a zombie")
                }
                zombies[Int32(bitPattern: ps.pid)] = core
                continue
            }
            live[Int32(bitPattern: ps.pid)] = try ImageSet.read(dir, entry: ps, core: core, files: files)
        }
        var out = TreeImages(entries: tree, live: live, zombies: zombies)
        if let root = live[Int32(bitPattern: tree[0].pid)], inv.hasRootIds {
            out.namespaces = try NamespaceImages.read(dir, rootIds: inv.rootIds, taskIds: root.ids)
        }
        return out
    }

    /// Every pid and tid the restore will take; each must be free.
    var allIds: [Int32] {
        entries.flatMap { e in [Int32(bitPattern: e.pid)] + e.threads.dropFirst().map { Int32(bitPattern: $0) } }
    }

    /// Pipes whose ends more than one task holds: made once by the restorer (SharedPipe).
    var sharedPipes: Set<UInt32> {
        guard let any = live.values.first else { return [] }
        // A table several tasks share (CLONE_FILES) is one holder.
        var tables = Set<UInt32>()
        let held = entries.compactMap { live[Int32(bitPattern: $0.pid)] }.filter { tables.insert($0.ids.filesID).inserted }
        return SharedPipe.find(held.map(\.fdinfo), files: any.files)
    }

    /// Shared anonymous memory objects (by shmid) and the size each needs.
    var sharedMemory: [UInt64: UInt64] {
        var out: [UInt64: UInt64] = [:]
        for set in live.values {
            for v in set.mm.vmas where v.status & VmaStatus.anonShared != 0 {
                out[v.shmid] = max(out[v.shmid] ?? 0, v.pgoff + (v.end - v.start))
            }
        }
        return out
    }
}
