import Images

/// A task gets an open file description at restore only from its parent (inherited across fork) or from
/// the restorer (SharedDescriptions, SharedPipe, memfds, pidfds). Kinds the restorer cannot open on its
/// own - an epoll, inotify or fanotify group, a terminal - would come back as one description per task
/// when tasks share them without their parent: an epoll's targets would even be re-added by another
/// task's fd numbers. Such a tree is refused at dump, while every task can still run on untouched.
enum SiblingShares {
    static let perTaskOnly: Set<FdTypes> = [.eventpoll, .inotify, .fanotify, .tty]

    /// `tree`: (pid, ppid) in pstree order; `held`: pid -> file id -> lowest fd holding it.
    static func check(tree: [(pid: Int32, ppid: Int32)], held: [Int32: [UInt32: Int32]], entries: [FileEntry]) throws {
        let types = Dictionary(entries.map { ($0.id, $0.type) }, uniquingKeysWith: { a, _ in a })
        try Inheritance.notInherited(tree, held: { (held[$0.pid] ?? [:]).keys.sorted() },
                                     parentHolds: { held[$0.ppid]?[$1] != nil }) { t, id, first in
            guard let type = types[id], perTaskOnly.contains(type) else { return }
            throw EngineError("dump", pid: t.pid, fd: held[t.pid]?[id] ?? -1,
                              reason: "shares its \(type) file with pid \(first.pid) but not with its parent \(t.ppid); such a description cannot be rebuilt in both")
        }
    }
}
