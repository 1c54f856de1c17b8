import Glibc
import CSys
import Images

/// Open file descriptions that a task cannot take from its parent: siblings that share a file their
/// parent closed, a grandchild whose parent closed it. Each task forks its own children after placing
/// its fds, so a description reaches a task only through its parent; these are opened once by the
/// restorer before the tree is forked and inherited by all (TreeObjects), so the tasks share one file
/// offset and flags again. Only kinds that open with no task context: regular files and directories
/// (not ghost files, not devices), eventfd, timerfd, signalfd, memfd; others keep one description per task.
enum SharedDescriptions {
    static let kinds: Set<FdTypes> = [.reg, .eventfd, .timerfd, .signalfd, .memfd]

    /// Ids held by a task (after the first holder, in pstree order) whose parent does not hold them.
    static func ids(_ plans: [ChildPlan]) -> Set<UInt32> {
        var out = Set<UInt32>()
        Inheritance.notInherited(plans, held: { Set($0.fds.map(\.file.id)).sorted() },
                                 parentHolds: { $0.inherited[$1] != nil }) { _, id, _ in out.insert(id) }
        return out
    }

    /// Opens the shared ids this restorer can open itself; fds kept at `floor` or above.
    static func open(_ plans: [ChildPlan], images: FileImages, floor: Int32) throws -> [UInt32: Int32] {
        var out: [UInt32: Int32] = [:]
        let context = FileRestoreContext(images: images) { fd in
            let n = csys_fcntl(fd, F_DUPFD_CLOEXEC, Int(floor))
            close(fd)
            guard n >= 0 else { throw EngineError("move a shared file's fd \(fd)", errno: .init(rawValue: errno)) }
            return n
        }
        do {
            for id in ids(plans).sorted() {
                guard let f = images.files[id], kinds.contains(f.type), images.remaps[id] == nil, owner(f) == 0,
                      f.type != .reg || isFileOrDir(f.reg), let kind = FileKinds.kind(for: f.type) else { continue }
                let fd = try context.park(try kind.open(f, context: context))
                guard context.finishers.isEmpty else {
                    close(fd)
                    throw EngineError("open shared file \(id)", fd: fd, reason: "its kind needs work in the task")
                }
                out[id] = fd
            }
        } catch {
            out.values.forEach { close($0) }
            throw EngineError.wrap(error, "open a file several tasks share")
        }
        return out
    }

    /// Devices stay with the task: opening a terminal here could make it the restorer's own.
    private static func isFileOrDir(_ r: RegFileEntry) -> Bool {
        let type = mode_t(r.mode) & S_IFMT
        return r.hasMode && (type == S_IFREG || type == S_IFDIR)
    }

    /// F_SETOWN pid of the file (it may name a task not forked yet).
    private static func owner(_ f: FileEntry) -> UInt32 {
        switch f.type {
        case .reg: return f.reg.fown.pid
        case .eventfd: return f.efd.fown.pid
        case .timerfd: return f.tfd.fown.pid
        case .signalfd: return f.sgfd.fown.pid
        case .memfd: return f.memfd.fown.pid
        default: return 1
        }
    }
}
