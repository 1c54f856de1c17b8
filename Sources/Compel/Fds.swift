import CSys
import Glibc
import SystemPackage

extension SeizedTask {
    /// A pidfd for the task, opened once.
    public func pidfd() throws -> Int32 {
        if pidFd >= 0 { return pidFd }
        let r = csys_syscall6(Int(CSYS_NR_pidfd_open), Int(pid), 0, 0, 0, 0, 0)
        if r < 0 { throw CompelError(pid: pid, "pidfd_open", errno: Errno(rawValue: errno)) }
        pidFd = Int32(r)
        return pidFd
    }

    /// Duplicates the task's descriptor `fd` into this process (pidfd_getfd). The copy shares the open file
    /// description: same offset, same pipe, same socket. The caller owns and closes it.
    public func takeFd(_ fd: Int32) throws -> FileDescriptor {
        let pfd = try pidfd()
        let r = csys_syscall6(Int(CSYS_NR_pidfd_getfd), Int(pfd), Int(fd), 0, 0, 0, 0)
        if r < 0 {
            let e = Errno(rawValue: errno)
            throw CompelError(pid: pid, "pidfd_getfd fd \(fd)", errno: e, detail: e == .badFileDescriptor ? "task has no fd \(fd)" : nil)
        }
        _ = csys_fcntl(Int32(r), F_SETFD, Int(FD_CLOEXEC))
        return FileDescriptor(rawValue: Int32(r))
    }
}
