import Glibc
import CSys

/// Kernel objects that several tasks of a tree share, made by the restorer before it forks the root:
/// every task inherits their fds across fork, so each uses the same object (shared anonymous memory,
/// pipes whose ends different tasks hold, memfds). A task parks them off its own fd numbers before it
/// places its fds and closes them once its children are forked (ChildPlan/RestoreChild).
struct TreeObjects {
    /// shmid -> shmem object (shared anonymous memory)
    var shmem: [UInt64: Int32] = [:]
    /// pipe id -> the pipe made here: [read end, write end]
    var pipes: [UInt32: [Int32]] = [:]
    /// memfd inode id -> the memfd
    var memfds: [UInt32: Int32] = [:]
    /// pidfd file id -> pidfd of a reaped helper
    var deadPidfds: [UInt32: Int32] = [:]
    /// file id -> an open file description tasks share without inheriting it from a parent
    var files: [UInt32: Int32] = [:]

    var fds: [Int32] {
        Array(shmem.values) + pipes.values.flatMap { $0 } + Array(memfds.values) + Array(deadPidfds.values) + Array(files.values)
    }

    func closeAll() { for fd in fds { close(fd) } }

    /// Moves every fd off the numbers the task's own fds take.
    mutating func park(_ spare: SpareFds) throws {
        for (id, fd) in shmem { shmem[id] = try spare.park(fd, "shared memory \(id)") }
        for (id, fd) in memfds { memfds[id] = try spare.park(fd, "memfd \(id)") }
        for (id, fd) in deadPidfds { deadPidfds[id] = try spare.park(fd, "pidfd \(id)") }
        for (id, fd) in files { files[id] = try spare.park(fd, "shared file \(id)") }
        for (id, ends) in pipes { pipes[id] = try ends.map { try spare.park($0, "pipe \(id)") } }
    }
}
