import Glibc
import CSys
import Images

/// /dev/tty: an fd on it is a tty file whose tty-info has type CTTY, as in CRIU. That tty-info also
/// names the pty behind it (`pty.index`) with the session it controls and its foreground group (`sid`,
/// `pgrp`, also set on the slave's own tty-info, where CRIU looks), so that a leader that holds only
/// the master and /dev/tty gets its terminal back: restore makes the new slave its controlling
/// terminal (TIOCSCTTY) before opening /dev/tty by name. A shell job's /dev/tty is criu's own
/// terminal (--shell-job).
enum CttyFile {
    static func isCtty(_ st: stat) -> Bool { TtyFile.major(st) == 5 && TtyFile.minor(st) == 0 }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        let ttyNr = UInt32(bitPattern: (try Stat.read(pid: fd.pid)).ttyNr)
        guard ttyNr != 0 else {
            throw EngineError("dump", pid: fd.pid, fd: fd.fd, path: "/dev/tty", reason: "the task has no controlling terminal any more")
        }
        let major = (ttyNr >> 8) & 0xfff, minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00)
        guard (136...143).contains(major) else {
            throw EngineError("dump", pid: fd.pid, fd: fd.fd, path: "/dev/tty",
                              reason: "the controlling terminal (device \(major):\(minor)) is not a pty; only ptys are supported")
        }
        let index = (major - 136) * 256 + minor
        let masters = try TtyFile.ptyMasters(context)
        let inTask = masters[index] != nil
        if let m = masters[index] {
            try ensureSlaveInfo(index: index, masterFd: m, rdev: dev_t(ttyNr), context: context)
        } else if !context.shellJob {
            throw EngineError("dump", pid: fd.pid, fd: fd.fd, path: "/dev/tty",
                              reason: "the controlling terminal /dev/pts/\(index) has its master outside the task; use --shell-job if it is the invoking terminal")
        }
        let infoId = try TtyFile.infoId("tty:ctty", context: context) { id in
            var i = TtyInfoEntry()
            i.id = id
            i.type = .ctty
            i.rdev = UInt32(truncatingIfNeeded: fd.stat.st_rdev)
            i.locked = false; i.exclusive = false; i.packetMode = false
            i.sid = 0; i.pgrp = 0
            if inTask {
                var pty = TtyPtyEntry()
                pty.index = index
                i.pty = pty
                try TtyCtty.markSession(&i, index: index, context: context)
            }
            return i
        }
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        return try TtyFile.addFile(context, infoId: infoId, fd: fd, local: local)
    }

    /// The terminal may be held only through /dev/tty and its master: its slave still needs a tty-info
    /// for restore to make it the controlling terminal again.
    private static func ensureSlaveInfo(index: UInt32, masterFd: Int32, rdev: dev_t, context: FileDumpContext) throws {
        let key = "tty:s:\(index)"
        guard context.ids[key] == nil else { return }
        let master = try context.takeFd(masterFd)
        defer { close(master) }
        let slave = try TtyTermios.openSlave(master: master)
        defer { close(slave) }
        let id = context.newId()
        context.ids[key] = id
        var i = try TtyFile.info(slave, id: id, index: index, master: false, rdev: rdev)
        try TtyCtty.markSession(&i, index: index, context: context)
        try context.addImage("tty-info.img", ImageKind.byName("TTY_INFO")!, i)
    }

    /// Makes the just opened slave `fd` our controlling terminal when it was our session's.
    static func claim(_ info: TtyInfoEntry, slave fd: Int32) throws {
        let me = getpid()
        guard info.sid != 0, Int32(bitPattern: info.sid) == me, getsid(0) == me else { return }
        guard csys_ioctl(fd, UInt(TIOCSCTTY), UnsafeMutableRawPointer(bitPattern: 0)) == 0 else {
            throw EngineError("make the pty the controlling terminal (TIOCSCTTY)", errno: .init(rawValue: errno))
        }
        // The foreground group can only be one that exists by now: our own.
        if Int32(bitPattern: info.pgrp) == getpgrp() { _ = tcsetpgrp(fd, getpgrp()) }
    }

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let t = f.tty
        let session = getsid(0)
        let ctty = context.images.ttyInfos[t.ttyInfoID].flatMap { $0.hasPty && $0.sid != 0 ? $0 : nil }
        if let ctty, Int32(bitPattern: ctty.sid) == session && session == getpid() && !hasCtty() {
            let pair = try TtyFile.pairFor(ctty.pty.index, context: context)
            let path = "/dev/pts/\(pair.index)"
            let s = csys_open(path, O_RDWR | O_NOCTTY | O_CLOEXEC, 0)
            guard s >= 0 else { throw EngineError("open pty slave", path: path, errno: .init(rawValue: errno)) }
            defer { close(s) }
            try claim(ctty, slave: s)
        } else if ctty == nil && !context.images.shellJob {
            throw EngineError("restore /dev/tty", reason: "the task's controlling terminal was not dumped with it; restore with --shell-job if it was the invoking terminal")
        }
        let fd = csys_open("/dev/tty", Int32(bitPattern: t.flags) & ~(O_CREAT | O_CLOEXEC) | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open /dev/tty", errno: .init(rawValue: errno)) }
        do { try FileOwner.restore(fd, t.fown, flags: t.flags) } catch { close(fd); throw error }
        return fd
    }

    private static func hasCtty() -> Bool {
        let fd = csys_open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC, 0)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }
}
