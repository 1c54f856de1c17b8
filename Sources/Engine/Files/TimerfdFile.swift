import Glibc
import CSys
import Images

/// timerfd: clock, interval, time left and expirations not yet read, all from fdinfo. The time left is
/// relative, so the timer is re-armed relative to restore time; unread ticks come back with
/// TFD_IOC_SET_TICKS.
enum TimerfdFile: FileKind {
    static let type = FdTypes.timerfd
    static let name = "timerfd"

    static func matches(_ fd: OpenFd) -> Bool { fd.target == .anonInode("timerfd") }

    /// "(1, 500000)" -> (1, 500000)
    static func pair(_ s: String?) -> (UInt64, UInt64)? {
        guard let s else { return nil }
        let parts = s.filter { $0 != "(" && $0 != ")" && $0 != " " }.split(separator: ",")
        guard parts.count == 2, let a = UInt64(parts[0]), let b = UInt64(parts[1]) else { return nil }
        return (a, b)
    }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        let i = fd.info
        guard let clock = i.value("clockid").flatMap({ UInt32($0[...].trimmingSpaces()) }),
              let ticks = i.value("ticks").flatMap({ UInt64($0[...].trimmingSpaces()) }),
              let sflags = i.value("settime flags").flatMap({ UInt32($0[...].trimmingSpaces(), radix: 8) }),
              let value = pair(i.value("it_value")), let interval = pair(i.value("it_interval")) else {
            throw EngineError("dump timerfd", pid: fd.pid, fd: fd.fd, reason: "unexpected fdinfo \(i.extra)")
        }
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var e = TimerfdEntry()
        e.id = context.newId()
        e.flags = i.flags & ~UInt32(O_CLOEXEC)
        e.clockid = clock
        e.ticks = ticks
        e.settimeFlags = sflags
        e.vsec = value.0; e.vnsec = value.1
        e.isec = interval.0; e.insec = interval.1
        e.fown = try FileOwner.dump(local, fd: fd)
        var f = FileEntry()
        f.type = .timerfd
        f.id = e.id
        f.tfd = e
        context.add(f)
        return e.id
    }

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let e = f.tfd
        let fd = timerfd_create(Int32(e.clockid), Int32(TFD_CLOEXEC))
        guard fd >= 0 else { throw EngineError("timerfd_create clock \(e.clockid)", errno: .init(rawValue: errno)) }
        var its = itimerspec()
        its.it_interval = timespec(tv_sec: Int(e.isec), tv_nsec: Int(e.insec))
        its.it_value = timespec(tv_sec: Int(e.vsec), tv_nsec: Int(e.vnsec))
        if timerfd_settime(fd, 0, &its, nil) < 0 {
            close(fd)
            throw EngineError("timerfd_settime", errno: .init(rawValue: errno))
        }
        if e.ticks != 0 {
            var t = e.ticks
            if csys_ioctl(fd, CSYS_TFD_IOC_SET_TICKS, &t) < 0 {
                close(fd)
                throw EngineError("TFD_IOC_SET_TICKS \(e.ticks)", errno: .init(rawValue: errno))
            }
        }
        try FileOwner.restore(fd, e.fown, flags: e.flags)
        return fd
    }
}
