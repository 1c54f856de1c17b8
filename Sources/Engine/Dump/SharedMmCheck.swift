import Glibc
import CSys

/// Shapes of processes sharing an address space (CLONE_VM, maybe CLONE_SIGHAND) that the restore can
/// rebuild: the sharer is cloned by an injected clone3 in its parent once the parent's memory is back
/// (Restore/SharedMm.swift). The sharer then exists only as that clone: it runs none of criu's code, so
/// what it would otherwise set up from inside (forking children, leading a group others join, opening
/// files) must already come with the clone. Everything else is refused here, before anything is written,
/// so a dump the restore cannot undo never kills the tasks.
enum SharedMmCheck {
    /// Before anything is dumped: tree shape, sessions and groups, root directory. `vm`: sharer pid ->
    /// parent pid.
    static func check(_ tree: [TreeTask], vm: [Int32: Int32]) throws {
        if let root = tree.first, root.task != nil, root.ppid > 1,
           csys_sys_kcmp(root.pid, root.ppid, SharedTaskState.kcmpVM, 0, 0) == 0 {
            throw EngineError("dump", pid: root.pid,
                              reason: "shares its address space with its parent \(root.ppid), which is outside the dumped tree; dump the parent instead")
        }
        let byPid = Dictionary(tree.map { ($0.pid, $0) }, uniquingKeysWith: { a, _ in a })
        for (c, p) in vm.sorted(by: { $0.key < $1.key }) {
            if let kid = tree.first(where: { $0.ppid == c }) {
                throw EngineError("dump", pid: c,
                                  reason: "shares its address space with its parent \(p) and has a child \(kid.pid) of its own; not supported")
            }
            if let member = tree.first(where: { $0.pid != c && ($0.pgid == c || $0.sid == c) }) {
                throw EngineError("dump", pid: c,
                                  reason: "shares its address space with its parent \(p) and leads the group or session of pid \(member.pid); not supported")
            }
            let root = try TaskLinks.root(pid: c), parentRoot = try TaskLinks.root(pid: p)
            if root != parentRoot {
                throw EngineError("dump", pid: c,
                                  reason: "shares its address space with its parent \(p) but has root \(root), not its parent's \(parentRoot); not supported")
            }
            guard let child = byPid[c], let parent = byPid[p] else { continue }
            if child.sid != parent.sid && child.sid != c {
                throw EngineError("dump", pid: c,
                                  reason: "shares its address space with its parent \(p) but is in session \(child.sid), not its parent's \(parent.sid) nor its own; not supported")
            }
        }
    }

    /// After the fds were dumped: a sharer takes its files from its parent's fd table at the clone, so
    /// it may hold only descriptions its parent holds too. `held`: pid -> file id -> fd.
    static func checkFiles(vm: [Int32: Int32], held: [Int32: [UInt32: Int32]]) throws {
        for (c, p) in vm.sorted(by: { $0.key < $1.key }) {
            let parent = held[p] ?? [:]
            for (id, fd) in (held[c] ?? [:]).sorted(by: { $0.value < $1.value }) where parent[id] == nil {
                throw EngineError("dump", pid: c, fd: fd,
                                  reason: "shares its address space with its parent \(p), which does not hold this open file; not supported")
            }
        }
    }
}
