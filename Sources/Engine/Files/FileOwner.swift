import Glibc
import CSys
import Images

/// F_SETOWN_EX / F_SETSIG state of an open file (the "fown" of every file entry), and the status flags
/// that fcntl(F_SETFL) can put back on an already open file.
enum FileOwner {
    /// Flags F_SETFL changes; the others are fixed at open.
    static let settableFlags = UInt32(O_APPEND | O_NONBLOCK | CSYS_O_ASYNC | CSYS_O_DIRECT) | 0o1000000

    /// Reads the owner through a local duplicate of the task's fd (same description).
    static func dump(_ local: Int32, fd: OpenFd) throws -> FownEntry {
        var own = csys_f_owner_ex()
        guard csys_fcntl_ptr(local, CSYS_F_GETOWN_EX, &own) == 0 else {
            throw EngineError("F_GETOWN_EX", pid: fd.pid, fd: fd.fd, errno: .init(rawValue: errno))
        }
        let sig = csys_fcntl(local, CSYS_F_GETSIG, 0)
        var f = FileKinds.noOwner
        f.pidType = UInt32(own.type)
        // We read the owner in our pid namespace; the image holds it as the task sees it.
        f.pid = UInt32(bitPattern: TreePids.innerPid(own.pid))
        f.signum = UInt32(max(sig, 0))
        return f
    }

    static func restore(_ fd: Int32, _ f: FownEntry) throws {
        if f.signum != 0 && csys_fcntl(fd, CSYS_F_SETSIG, Int(f.signum)) < 0 {
            throw EngineError("F_SETSIG \(f.signum)", errno: .init(rawValue: errno))
        }
        guard f.pid != 0 else { return }
        var own = csys_f_owner_ex(type: Int32(f.pidType), pid: Int32(bitPattern: f.pid))
        if csys_fcntl_ptr(fd, CSYS_F_SETOWN_EX, &own) < 0 {
            throw EngineError("F_SETOWN_EX pid \(f.pid)", errno: .init(rawValue: errno))
        }
    }

    /// Puts the owner back, then the settable status flags (O_ASYNC only makes sense once there is an owner).
    static func restore(_ fd: Int32, _ f: FownEntry, flags: UInt32) throws {
        try restore(fd, f)
        let cur = csys_fcntl(fd, F_GETFL, 0)
        guard cur >= 0 else { throw EngineError("F_GETFL", errno: .init(rawValue: errno)) }
        let want = (UInt32(bitPattern: cur) & ~settableFlags) | (flags & settableFlags)
        if want != UInt32(bitPattern: cur) && csys_fcntl(fd, F_SETFL, Int(want)) < 0 {
            throw EngineError("F_SETFL \(String(want, radix: 8))", errno: .init(rawValue: errno))
        }
    }
}
