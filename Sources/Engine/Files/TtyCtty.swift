import Glibc
import CSys
import Images

/// The controlling terminal of a session leader, when it is a pty slave of the dumped tree. The kernel
/// keeps it as the session's tty, not as an fd: the dump records the session and foreground group in the
/// slave's tty-info (sid, pgrp, read through the master, since TIOCGSID on a slave only answers for one's
/// own terminal); the restored leader makes its placed slave fd its controlling terminal again
/// (TIOCSCTTY; every fd is opened O_NOCTTY so nothing is acquired by accident) and, once its children
/// and their groups exist, gives the foreground back to the dumped group.
enum TtyCtty {
    static let tiocsctty: UInt = 0x540E
    static let tiocgsid: UInt = 0x5429
    static let tiocgpgrp: UInt = 0x540F
    static let tiocspgrp: UInt = 0x5410

    /// Session and foreground group a pty slave controls, asked through the task's master (none when the
    /// task holds no master of it): on the slave side the kernel answers only a caller whose own terminal
    /// it is.
    static func markSession(_ i: inout TtyInfoEntry, index: UInt32, context: FileDumpContext) throws {
        guard let m = try TtyFile.ptyMasters(context)[index] else { return }
        let master = try context.takeFd(m)
        defer { close(master) }
        (i.sid, i.pgrp) = dumpSession(master: master)
    }

    /// Session and foreground group of the pty whose master `master` is (0, 0 when it has no session),
    /// as the tree sees them: the kernel answers in our pid namespace.
    static func dumpSession(master: Int32) -> (sid: UInt32, pgrp: UInt32) {
        var sid: Int32 = 0, pgrp: Int32 = 0
        guard csys_ioctl(master, tiocgsid, &sid) == 0, sid > 0 else { return (0, 0) }
        if csys_ioctl(master, tiocgpgrp, &pgrp) != 0 || pgrp <= 0 { pgrp = 0 }
        return (UInt32(bitPattern: TreePids.innerPid(sid)), pgrp == 0 ? 0 : UInt32(bitPattern: TreePids.innerPid(pgrp)))
    }

    /// The slave fd that is our controlling terminal (we lead its dumped session), if any.
    static func slaveFd(_ fds: [(fd: Int32, file: FileEntry, cloexec: Bool)], _ images: FileImages) -> (Int32, TtyInfoEntry)? {
        let me = UInt32(bitPattern: getpid())
        for e in fds where e.file.type == .tty {
            guard let info = images.ttyInfos[e.file.tty.ttyInfoID], !TtyFile.isMasterRdev(info.rdev),
                  info.sid == me else { continue }
            return (e.fd, info)
        }
        return nil
    }

    /// Right after the fds are placed, in the session leader.
    static func acquire(_ fds: [(fd: Int32, file: FileEntry, cloexec: Bool)], _ images: FileImages) throws {
        guard let (fd, _) = slaveFd(fds, images) else { return }
        guard csys_ioctl(fd, tiocsctty, UnsafeMutableRawPointer(bitPattern: 0)) == 0 else {
            throw EngineError("TIOCSCTTY", fd: fd, errno: .init(rawValue: errno), reason: "make the pty slave the session's controlling terminal again")
        }
    }

    /// Once the leader's children are in their groups: the dumped foreground group.
    static func foreground(_ fds: [(fd: Int32, file: FileEntry, cloexec: Bool)], _ images: FileImages) throws {
        guard let (fd, info) = slaveFd(fds, images), info.pgrp != 0 else { return }
        var pgrp = Int32(bitPattern: info.pgrp)
        var now: Int32 = 0
        if csys_ioctl(fd, tiocgpgrp, &now) == 0 && now == pgrp { return }
        guard csys_ioctl(fd, tiocspgrp, &pgrp) == 0 else {
            throw EngineError("TIOCSPGRP \(pgrp)", fd: fd, errno: .init(rawValue: errno), reason: "give the controlling terminal's foreground back to group \(pgrp)")
        }
    }
}
