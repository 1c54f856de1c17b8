import Glibc
import CSys
import Images

/// Fd numbers the restoring child may use for its own fds: any number no restored fd will take.
/// Temporaries never go above the highest target, so a task whose fds reach RLIMIT_NOFILE - 1 restores
/// as long as its table has gaps.
final class SpareFds {
    private let targets: Set<Int32>
    /// Numbers below are spent; only moves up, so finding spares costs O(targets) over the whole restore.
    private var cursor: Int32 = 0

    init(targets: Set<Int32>) { self.targets = targets }

    /// Moves `fd` to a number no target uses (close-on-exec) unless it already sits on one.
    func park(_ fd: Int32, _ what: String) throws -> Int32 {
        if !targets.contains(fd) { return fd }
        while true {
            while targets.contains(cursor) { cursor += 1 }
            let n = csys_fcntl(fd, F_DUPFD_CLOEXEC, Int(cursor))
            guard n >= 0 else {
                throw EngineError("move \(what) off the restored fd numbers", fd: fd, errno: .init(rawValue: errno),
                                  reason: "no free fd number outside the \(targets.count) restored ones")
            }
            if targets.contains(n) {
                close(n)
                cursor = n + 1
                continue
            }
            close(fd)
            return n
        }
    }
}

/// Opens each file of the task once and puts it at every fd number that refers to it.
enum FdPlacement {
    /// `inherited`: files the task shares with its parent, already open here (one description, not reopened).
    static func place(_ fds: [(fd: Int32, file: FileEntry, cloexec: Bool)], images: FileImages, spare: SpareFds,
                      inherited: [UInt32: Int32] = [:]) throws {
        let context = FileRestoreContext(images: images) { try spare.park($0, "file") }
        var order: [UInt32] = []
        var byId: [UInt32: (file: FileEntry, targets: [(fd: Int32, cloexec: Bool)])] = [:]
        for e in fds {
            if byId[e.file.id] == nil { order.append(e.file.id); byId[e.file.id] = (e.file, []) }
            byId[e.file.id]!.targets.append((e.fd, e.cloexec))
        }
        var fdOf: [UInt32: Int32] = [:]
        for id in order {
            let (file, targets) = byId[id]!
            guard let kind = FileKinds.kind(for: file.type) else {
                throw EngineError("restore fd", fd: targets[0].fd, reason: "file kind \(file.type) is not supported")
            }
            let fd: Int32
            if let have = inherited[id] {
                fd = have
            } else if let have = try InheritFd.open(file, context: context) {
                fd = have
            } else {
                do { fd = try kind.open(file, context: context) } catch {
                    throw EngineError.wrap(error, "restore fd \(targets[0].fd)")
                }
            }
            // The new fd is at the lowest free number: never one already placed, maybe one still to come.
            for t in targets {
                if t.fd == fd {
                    _ = csys_fcntl(fd, F_SETFD, t.cloexec ? Int(FD_CLOEXEC) : 0)
                } else if csys_sys_dup3(fd, t.fd, t.cloexec ? Int32(O_CLOEXEC) : 0) < 0 {
                    throw EngineError("dup3 to fd \(t.fd)", errno: .init(rawValue: errno))
                }
            }
            if !targets.contains(where: { $0.fd == fd }) { close(fd) }
            fdOf[id] = targets[0].fd
            try rearmAsync(targets[0].fd)
        }
        for finish in context.finishers { try finish(fdOf) }
    }

    /// O_ASYNC signals carry the fd number F_SETFL was called on (si_fd): set it again on the final number.
    private static func rearmAsync(_ fd: Int32) throws {
        let fl = csys_fcntl(fd, F_GETFL, 0)
        guard fl >= 0, fl & CSYS_O_ASYNC != 0 else { return }
        if csys_fcntl(fd, F_SETFL, Int(fl & ~CSYS_O_ASYNC)) < 0 || csys_fcntl(fd, F_SETFL, Int(fl)) < 0 {
            throw EngineError("set O_ASYNC", fd: fd, errno: .init(rawValue: errno))
        }
    }
}
