import Glibc
import CSys

enum FileProbes {
    @Sendable static func pidfdStore() -> ProbeResult {
        let pidfd = csys_sys_pidfd_open(getpid(), 0)
        guard pidfd >= 0 else { return .failed("pidfd_open", errno) }
        defer { close(pidfd) }
        let fd = csys_sys_pidfd_getfd(pidfd, pidfd, 0)
        guard fd >= 0 else { return .failed("pidfd_getfd", errno) }
        close(fd)
        return .present("pidfd_open and pidfd_getfd work")
    }

    private static func fdinfo(_ fd: Int32) -> String {
        (try? ProcFile.readText("/proc/self/fdinfo/\(fd)")) ?? ""
    }

    @Sendable static func mntId() -> ProbeResult {
        let fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return .failed("open /", errno) }
        defer { close(fd) }
        return fdinfo(fd).contains("mnt_id:") ? .present("fdinfo has mnt_id") : .missing("fdinfo lacks mnt_id")
    }

    @Sendable static func timerfdTicks() -> ProbeResult {
        let fd = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_CLOEXEC))
        guard fd >= 0 else { return .failed("timerfd_create", errno) }
        defer { close(fd) }
        var ticks: UInt64 = 1
        return csys_ioctl(fd, CSYS_TFD_IOC_SET_TICKS, &ticks) == 0
            ? .present("TFD_IOC_SET_TICKS works") : .failed("ioctl(TFD_IOC_SET_TICKS)", errno)
    }

    @Sendable static func fdinfoLock() -> ProbeResult {
        var template = Array("/tmp/criu-check-lock-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return .failed("mkstemp", errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        defer { close(fd) }
        guard flock(fd, LOCK_SH) == 0 else { return .failed("flock", errno) }
        return fdinfo(fd).contains("lock:") ? .present("fdinfo lists locks") : .missing("fdinfo lacks lock: lines")
    }

    @Sendable static func kcmpEpoll() -> ProbeResult {
        let ep = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard ep >= 0 else { return .failed("epoll_create1", errno) }
        defer { close(ep) }
        let ev = eventfd(0, Int32(EFD_CLOEXEC))
        guard ev >= 0 else { return .failed("eventfd", errno) }
        defer { close(ev) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        guard epoll_ctl(ep, EPOLL_CTL_ADD, ev, &event) == 0 else { return .failed("epoll_ctl", errno) }
        var slot: (UInt32, UInt32, UInt32) = (UInt32(ep), UInt32(ev), 0)
        let r = withUnsafeMutablePointer(to: &slot) {
            csys_sys_kcmp(getpid(), getpid(), CSYS_KCMP_EPOLL_TFD, UInt(ev), UInt(bitPattern: $0))
        }
        return r == 0 ? .present("kcmp finds an epoll target") : .failed("kcmp(KCMP_EPOLL_TFD)", errno)
    }

    @Sendable static func openat2() -> ProbeResult {
        let fd = csys_sys_openat2(AT_FDCWD, "/", UInt64(O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0)
        guard fd >= 0 else { return .failed("openat2", errno) }
        close(fd)
        return .present("openat2 works")
    }

    @Sendable static func memfdHugetlb() -> ProbeResult {
        let fd = csys_sys_memfd_create("criu-check", CSYS_MFD_CLOEXEC | CSYS_MFD_HUGETLB)
        guard fd >= 0 else { return .failed("memfd_create(MFD_HUGETLB)", errno) }
        close(fd)
        return .present("memfd_create(MFD_HUGETLB) works")
    }
}
