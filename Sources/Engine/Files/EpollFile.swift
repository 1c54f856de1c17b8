import Glibc
import CSys
import Images

/// epoll: every target with its events and data from fdinfo "tfd:" lines. Targets are named by fd
/// number, so each must still be that fd of the same task (same inode); restore adds them with
/// epoll_ctl once every fd is at its number.
enum EpollFile: FileKind {
    static let type = FdTypes.eventpoll
    static let name = "epoll"

    static func matches(_ fd: OpenFd) -> Bool { fd.target == .anonInode("eventpoll") }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var e = EventpollFileEntry()
        e.id = context.newId()
        e.flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        e.fown = try FileOwner.dump(local, fd: fd)
        for line in fd.info.values("tfd") {
            let t = Fdinfo.tokens(line)
            func hex(_ k: String) -> UInt64? { t.first { $0.key == k }.flatMap { UInt64($0.value, radix: 16) } }
            guard let num = t.first(where: { $0.key == "" }).flatMap({ UInt32($0.value) }),
                  let events = hex("events"), let data = hex("data"), let ino = hex("ino") else {
                throw EngineError("dump epoll", pid: fd.pid, fd: fd.fd, reason: "unexpected fdinfo line \"tfd: \(line)\"")
            }
            var st = stat()
            if csys_stat("/proc/\(fd.pid)/fd/\(num)", &st) != 0 || UInt64(st.st_ino) != ino {
                throw EngineError("dump epoll", pid: fd.pid, fd: fd.fd,
                                  reason: "target fd \(num) was closed or replaced after it was added; not supported")
            }
            var tfd = EventpollTfdEntry()
            tfd.id = e.id
            tfd.tfd = num
            tfd.events = UInt32(truncatingIfNeeded: events)
            tfd.data = data
            tfd.inode = ino
            if let dev = hex("sdev") { tfd.dev = UInt32(truncatingIfNeeded: dev) }
            if let pos = t.first(where: { $0.key == "pos" }).flatMap({ UInt64($0.value) }) { tfd.pos = pos }
            e.tfd.append(tfd)
        }
        var f = FileEntry()
        f.type = .eventpoll
        f.id = e.id
        f.epfd = e
        context.add(f)
        return e.id
    }

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let e = f.epfd
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw EngineError("epoll_create1", errno: .init(rawValue: errno)) }
        try FileOwner.restore(fd, e.fown, flags: e.flags)
        let id = f.id
        context.finishers.append { fdOf in
            guard let ep = fdOf[id] else { return }
            for t in e.tfd {
                var ev = epoll_event()
                ev.events = t.events
                ev.data.u64 = t.data
                if epoll_ctl(ep, EPOLL_CTL_ADD, Int32(t.tfd), &ev) < 0 {
                    throw EngineError("epoll_ctl add target fd \(t.tfd)", fd: ep, errno: .init(rawValue: errno))
                }
            }
        }
        return fd
    }
}
