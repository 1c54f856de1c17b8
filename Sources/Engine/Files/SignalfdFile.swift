import Glibc
import CSys
import Images

/// signalfd: the signal mask from fdinfo ("sigmask", hex). Pending signals belong to the task and are
/// restored with it, so they are readable from the new signalfd again.
enum SignalfdFile: FileKind {
    static let type = FdTypes.signalfd
    static let name = "signalfd"

    static func matches(_ fd: OpenFd) -> Bool { fd.target == .anonInode("signalfd") }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        guard let m = fd.info.value("sigmask"), let mask = UInt64(m[...].trimmingSpaces(), radix: 16) else {
            throw EngineError("dump signalfd", pid: fd.pid, fd: fd.fd, reason: "fdinfo has no sigmask")
        }
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var e = SignalfdEntry()
        e.id = context.newId()
        e.flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        e.sigmask = mask
        e.fown = try FileOwner.dump(local, fd: fd)
        var f = FileEntry()
        f.type = .signalfd
        f.id = e.id
        f.sgfd = e
        context.add(f)
        return e.id
    }

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let e = f.sgfd
        let fd = csys_sys_signalfd4(-1, e.sigmask, O_CLOEXEC)
        guard fd >= 0 else { throw EngineError("signalfd mask \(String(e.sigmask, radix: 16))", errno: .init(rawValue: errno)) }
        try FileOwner.restore(fd, e.fown, flags: e.flags)
        return fd
    }
}
