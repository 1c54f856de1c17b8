import Glibc
import CSys
import Images

/// eventfd: the counter from fdinfo ("eventfd-count", hex) and semaphore mode ("eventfd-semaphore").
/// An eventfd's f_flags always hold O_RDWR (2), so bit 0 (EFD_SEMAPHORE) of the saved flags is free to
/// carry the semaphore mode.
enum EventfdFile: FileKind {
    static let type = FdTypes.eventfd
    static let name = "eventfd"

    static func matches(_ fd: OpenFd) -> Bool { fd.target == .anonInode("eventfd") }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        guard let c = fd.info.value("eventfd-count"), let counter = UInt64(c[...].trimmingSpaces(), radix: 16) else {
            throw EngineError("dump eventfd", pid: fd.pid, fd: fd.fd, reason: "fdinfo has no eventfd-count")
        }
        let sem = fd.info.value("eventfd-semaphore")?[...].trimmingSpaces() == "1"
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var e = EventfdFileEntry()
        e.id = context.newId()
        e.flags = (fd.info.flags & ~UInt32(O_CLOEXEC)) | (sem ? UInt32(CSYS_EFD_SEMAPHORE) : 0)
        e.counter = counter
        e.fown = try FileOwner.dump(local, fd: fd)
        var f = FileEntry()
        f.type = .eventfd
        f.id = e.id
        f.efd = e
        context.add(f)
        return e.id
    }

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let e = f.efd
        let fd = csys_sys_eventfd2(0, Int32(O_CLOEXEC) | Int32(bitPattern: e.flags) & CSYS_EFD_SEMAPHORE)
        guard fd >= 0 else { throw EngineError("eventfd", errno: .init(rawValue: errno)) }
        // The counter may exceed the 32-bit initial value eventfd2 takes: add it with a write.
        if e.counter != 0 {
            var v = e.counter
            guard write(fd, &v, 8) == 8 else {
                close(fd)
                throw EngineError("set eventfd counter \(e.counter)", errno: .init(rawValue: errno))
            }
        }
        try FileOwner.restore(fd, e.fown, flags: e.flags)
        return fd
    }
}
