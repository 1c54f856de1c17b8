import Glibc
import CSys
import Images

/// Pseudo-terminals: the master (/dev/ptmx) and slave (/dev/pts/N) ends of a pair held by the task.
/// Each end has a tty-info entry (index, termios, window size, packet mode, lock); the unread bytes of
/// each side go to tty-data.img. Restore opens a new /dev/ptmx, unlocks it, opens the slave by the new
/// index (the old one may be taken), and sets everything through the master, which acts on the slave.
/// Only complete lines of a canonical-mode slave queue are saved; a partial line is lost.
enum TtyFile: FileKind {
    static let type = FdTypes.tty
    static let name = "terminal"
    static let ptmxMinor: UInt32 = 2

    static func major(_ st: stat) -> UInt32 { UInt32((st.st_rdev >> 8) & 0xfff) }
    static func minor(_ st: stat) -> UInt32 { UInt32((st.st_rdev & 0xff) | ((st.st_rdev >> 12) & 0xfff00)) }
    static func isMaster(_ st: stat) -> Bool { major(st) == 5 && minor(st) == ptmxMinor }
    static func isSlave(_ st: stat) -> Bool { (136...143).contains(major(st)) }

    static func matches(_ fd: OpenFd) -> Bool {
        guard case .path = fd.target, fd.fileType == S_IFCHR else { return false }
        return isMaster(fd.stat) || isSlave(fd.stat) || CttyFile.isCtty(fd.stat)
    }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        if CttyFile.isCtty(fd.stat) { return try CttyFile.dump(fd, context: context) }
        if let key = ExternalFile.ttyKey(fd, context: context) { return try ExternalFile.dumpTty(fd, key: key, context: context) }
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        let master = isMaster(fd.stat)
        var index: UInt32 = 0
        if master {
            guard csys_ioctl(local, CSYS_TIOCGPTN, &index) == 0 else {
                throw EngineError("TIOCGPTN", pid: fd.pid, fd: fd.fd, errno: .init(rawValue: errno))
            }
        } else {
            index = (major(fd.stat) - 136) * 256 + minor(fd.stat)
        }
        let masters = try ptyMasters(context)
        if masters[index] == nil && !context.shellJob {
            throw EngineError("dump", pid: fd.pid, fd: fd.fd,
                              reason: "terminal \(fd.link) belongs to a pty whose master the task does not hold; use --shell-job if it is the invoking terminal")
        }
        let infoId = try infoId("tty:\(master ? "m" : "s"):\(index)", context: context) { id in
            var entry = try info(local, id: id, index: index, master: master, fd: fd)
            if !master { try TtyCtty.markSession(&entry, index: index, context: context) }
            return entry
        }
        let id = try addFile(context, infoId: infoId, fd: fd, local: local)
        try saveData(context, index: index)
        return id
    }

    /// The tty-info id of a terminal: every fd of one terminal points at one tty-info.img entry, made
    /// (by `make`, given the new id) and written the first time its key is seen.
    static func infoId(_ key: String, context: FileDumpContext, make: (UInt32) throws -> TtyInfoEntry) throws -> UInt32 {
        if let id = context.ids[key] { return id }
        let id = context.newId()
        context.ids[key] = id
        try context.addImage("tty-info.img", ImageKind.byName("TTY_INFO")!, try make(id))
        return id
    }

    /// The files.img entry of a terminal fd (pty end, /dev/tty or external), pointing at its tty-info.
    static func addFile(_ context: FileDumpContext, infoId: UInt32, fd: OpenFd, local: Int32) throws -> UInt32 {
        var t = TtyFileEntry()
        t.id = context.newId()
        t.ttyInfoID = infoId
        t.flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        t.fown = try FileOwner.dump(local, fd: fd)
        var f = FileEntry()
        f.type = .tty
        f.id = t.id
        f.tty = t
        context.add(f)
        return t.id
    }

    /// Pty index -> the task's fd of that master, found once per dump.
    static func ptyMasters(_ context: FileDumpContext) throws -> [UInt32: Int32] {
        if let m = context.ptyMasters { return m }
        var out: [UInt32: Int32] = [:]
        for e in try Fds.list(pid: context.pid) {
            var st = stat()
            guard case .path = e.target, csys_stat("/proc/\(context.pid)/fd/\(e.fd)", &st) == 0,
                  st.st_mode & S_IFMT == S_IFCHR, isMaster(st) else { continue }
            let local = try context.takeFd(e.fd)
            var index: UInt32 = 0
            if csys_ioctl(local, CSYS_TIOCGPTN, &index) == 0 && out[index] == nil { out[index] = e.fd }
            close(local)
        }
        context.ptyMasters = out
        return out
    }

    private static func info(_ local: Int32, id: UInt32, index: UInt32, master: Bool, fd: OpenFd) throws -> TtyInfoEntry {
        try info(local, id: id, index: index, master: master, rdev: fd.stat.st_rdev)
    }

    static func info(_ local: Int32, id: UInt32, index: UInt32, master: Bool, rdev: dev_t) throws -> TtyInfoEntry {
        var i = TtyInfoEntry()
        i.id = id
        i.type = .pty
        i.rdev = UInt32(truncatingIfNeeded: rdev)
        i.exclusive = false
        i.sid = 0
        i.pgrp = 0
        var pty = TtyPtyEntry()
        pty.index = index
        i.pty = pty
        var lock: Int32 = 0, pkt: Int32 = 0
        i.locked = master && csys_ioctl(local, CSYS_TIOCGPTLCK, &lock) == 0 && lock != 0
        i.packetMode = master && csys_ioctl(local, CSYS_TIOCGPKT, &pkt) == 0 && pkt != 0
        var tio = termios()
        if tcgetattr(local, &tio) == 0 { i.termios = TtyTermios.entry(tio) }
        var ws = winsize()
        if csys_ioctl(local, UInt(TIOCGWINSZ), &ws) == 0 {
            var w = WinsizeEntry()
            w.wsRow = UInt32(ws.ws_row); w.wsCol = UInt32(ws.ws_col)
            w.wsXpixel = UInt32(ws.ws_xpixel); w.wsYpixel = UInt32(ws.ws_ypixel)
            i.winsize = w
        }
        return i
    }

    /// Once both ends of the pair have info entries, reads each side's input queue and writes it back
    /// at once, so the task finds its data again if it keeps running.
    private static func saveData(_ context: FileDumpContext, index: UInt32) throws {
        guard let mId = context.ids["tty:m:\(index)"], let sId = context.ids["tty:s:\(index)"],
              context.seen.insert("ttydata:\(index)").inserted, let mfd = context.ptyMasters?[index] else { return }
        let master = try context.takeFd(mfd)
        defer { close(master) }
        let slave = try TtyTermios.openSlave(master: master)
        defer { close(slave) }
        let toSlave = try TtyTermios.drain(slave, what: "pty \(index) slave queue")
        let toMaster = try TtyTermios.drain(master, what: "pty \(index) master queue")
        try TtyTermios.refill(master: master, slave: slave, toSlave: toSlave, toMaster: toMaster)
        for (id, data) in [(sId, toSlave), (mId, toMaster)] where !data.isEmpty {
            var d = TtyDataEntry()
            d.ttyID = id
            d.data = Swift.type(of: d.data).init(data)
            try context.addImage("tty-data.img", ImageKind.byName("TTY_DATA")!, d)
        }
    }

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let t = f.tty
        guard let info = context.images.ttyInfos[t.ttyInfoID] else {
            throw EngineError("restore terminal", reason: "tty-info entry \(t.ttyInfoID) is missing")
        }
        if info.type == .ctty { return try CttyFile.open(f, context: context) }
        if info.type == .extTty {
            throw EngineError("restore terminal", reason: "it is external: pass --inherit-fd fd[N]:\(ExternalFile.ttyKey(info))")
        }
        let old = info.pty.index
        let inImages = context.images.ttyInfos.values.contains { $0.type == .pty && $0.pty.index == old && isMasterRdev($0.rdev) }
        if !inImages {
            // The invoking terminal of a shell job: ours stands in for it (--shell-job).
            guard context.images.shellJob else {
                throw EngineError("restore terminal", reason: "pty \(old) was the task's outside terminal; restore with --shell-job")
            }
            let ours = try shellTerminal()
            let fd = csys_fcntl(ours, F_DUPFD_CLOEXEC, 0)
            guard fd >= 0 else { throw EngineError("dup our terminal", fd: ours, errno: .init(rawValue: errno)) }
            try FileOwner.restore(fd, t.fown, flags: t.flags)
            return fd
        }
        let pair = try pairFor(old, context: context)
        if isMasterRdev(info.rdev) {
            // A new open of ptmx would make another pty: the entry shares the pair's master description.
            let dupd = csys_fcntl(pair.master, F_DUPFD_CLOEXEC, 0)
            guard dupd >= 0 else { throw EngineError("dup pty master", errno: .init(rawValue: errno)) }
            try FileOwner.restore(dupd, t.fown, flags: t.flags)
            return dupd
        }
        let path = "/dev/pts/\(pair.index)"
        let s = csys_open(path, Int32(bitPattern: t.flags) & ~(O_CREAT | O_CLOEXEC) | O_NOCTTY | O_CLOEXEC, 0)
        guard s >= 0 else { throw EngineError("open pty slave", path: path, errno: .init(rawValue: errno)) }
        try FileOwner.restore(s, t.fown, flags: t.flags)
        return s
    }

    /// The new pair standing for dumped pty `old`: master opened, unlocked, set up and filled once.
    static func pairFor(_ old: UInt32, context: FileRestoreContext) throws -> (master: Int32, index: UInt32) {
        if let p = context.ptys[old] { return p }
        var m = csys_open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0)
        guard m >= 0 else { throw EngineError("open /dev/ptmx", errno: .init(rawValue: errno)) }
        m = try context.park(m)
        var unlock: Int32 = 0, index: UInt32 = 0
        guard csys_ioctl(m, CSYS_TIOCSPTLCK, &unlock) == 0, csys_ioctl(m, CSYS_TIOCGPTN, &index) == 0 else {
            throw EngineError("unlock new pty", errno: .init(rawValue: errno))
        }
        let infos = context.images.ttyInfos.values.filter { $0.type == .pty && $0.pty.index == old }
        let mInfo = infos.first { isMasterRdev($0.rdev) }, sInfo = infos.first { !isMasterRdev($0.rdev) }
        let slave = try TtyTermios.openSlave(master: m)
        defer { close(slave) }
        let toSlave = sInfo.flatMap { context.images.ttyData[$0.id] } ?? []
        let toMaster = mInfo.flatMap { context.images.ttyData[$0.id] } ?? []
        let tio = (sInfo ?? mInfo).flatMap { $0.hasTermios ? $0.termios : nil }
        if let tio { try TtyTermios.set(m, tio) }
        try TtyTermios.refill(master: m, slave: slave, toSlave: toSlave, toMaster: toMaster)
        if let ws = (sInfo ?? mInfo).flatMap({ $0.hasWinsize ? $0.winsize : nil }) {
            var w = winsize(ws_row: UInt16(ws.wsRow), ws_col: UInt16(ws.wsCol), ws_xpixel: UInt16(ws.wsXpixel), ws_ypixel: UInt16(ws.wsYpixel))
            _ = csys_ioctl(m, UInt(TIOCSWINSZ), &w)
        }
        if let mi = mInfo {
            var pkt: Int32 = mi.packetMode ? 1 : 0
            if pkt != 0 && csys_ioctl(m, CSYS_TIOCPKT, &pkt) < 0 { throw EngineError("TIOCPKT", errno: .init(rawValue: errno)) }
            if mi.locked {
                var lock: Int32 = 1
                context.finishers.append { _ in _ = csys_ioctl(m, CSYS_TIOCSPTLCK, &lock) }
            }
        }
        context.ptys[old] = (m, index)
        return (m, index)
    }

    /// The restorer's own terminal: the first of fds 0-2 (inherited from criu) that is a tty.
    private static func shellTerminal() throws -> Int32 {
        for fd: Int32 in 0...2 where isatty(fd) != 0 { return fd }
        throw EngineError("restore shell job", reason: "--shell-job needs criu restore to run on a terminal")
    }

    static func isMasterRdev(_ rdev: UInt32) -> Bool { (rdev >> 8) & 0xfff == 5 && rdev & 0xff == ptmxMinor }
}
