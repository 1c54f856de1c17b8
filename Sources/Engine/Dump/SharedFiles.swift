import Glibc
import CSys
import Images

/// Open file descriptions shared by several tasks of a tree (inherited across fork): the fds of a later
/// task that refer to a description an earlier task holds get the earlier task's file id, found with
/// kcmp(KCMP_FILE), so the restore opens it once and the tasks share it again.
final class SharedFiles {
    private static let kcmpFile: Int32 = 0
    private var seen: [(pid: Int32, fd: Int32, id: UInt32, dev: UInt64, ino: UInt64)] = []

    /// Also refuses what the restore cannot rebuild yet: one pipe or FIFO whose ends are different open
    /// descriptions held by different tasks (the restore would give each task a pipe of its own).
    func unify(pid: Int32, _ fdinfo: inout [FdinfoEntry]) throws {
        var mine: [(pid: Int32, fd: Int32, id: UInt32, dev: UInt64, ino: UInt64)] = []
        for i in fdinfo.indices {
            let fd = Int32(bitPattern: fdinfo[i].fd)
            var st = stat()
            guard csys_stat("/proc/\(pid)/fd/\(fd)", &st) == 0 else { continue }
            let dev = UInt64(st.st_dev), ino = UInt64(st.st_ino)
            if let same = seen.first(where: { $0.dev == dev && $0.ino == ino
                                              && csys_sys_kcmp($0.pid, pid, Self.kcmpFile, UInt($0.fd), UInt(fd)) == 0 }) {
                fdinfo[i].id = same.id
            } else if st.st_mode & S_IFMT == S_IFIFO,
                      let other = seen.first(where: { $0.dev == dev && $0.ino == ino && $0.pid != pid }) {
                throw EngineError("dump", pid: pid, fd: fd,
                                  reason: "pipe or FIFO inode \(ino) is shared with pid \(other.pid) (its fd \(other.fd)); "
                                    + "pipes between processes are not supported yet")
            }
            mine.append((pid, fd, fdinfo[i].id, dev, ino))
        }
        seen += mine
    }
}
