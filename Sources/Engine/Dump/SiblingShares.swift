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
        var firstHolder: [UInt32: Int32] = [:]
        for t in tree {
            guard let ids = held[t.pid] else { continue }
            let parent = held[t.ppid] ?? [:]
            for (id, fd) in ids.sorted(by: { $0.key < $1.key }) {
                guard let first = firstHolder[id] else { firstHolder[id] = t.pid; continue }
                guard parent[id] == nil, let type = types[id], perTaskOnly.contains(type) else { continue }
                throw EngineError("dump", pid: t.pid, fd: fd,
                                  reason: "shares its \(type) file with pid \(first) but not with its parent \(t.ppid); such a description cannot be rebuilt in both")
            }
        }
    }
}
