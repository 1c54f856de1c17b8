import Glibc
import CSys
import Images

/// Terminal settings and queued bytes of a pty pair, shared by dump and restore.
enum TtyTermios {
    static func entry(_ t: termios) -> TermiosEntry {
        var e = TermiosEntry()
        e.cIflag = t.c_iflag; e.cOflag = t.c_oflag; e.cCflag = t.c_cflag; e.cLflag = t.c_lflag
        e.cLine = UInt32(t.c_line)
        e.cIspeed = t.c_ispeed; e.cOspeed = t.c_ospeed
        e.cCc = withUnsafeBytes(of: t.c_cc) { $0.map { UInt32($0) } }
        return e
    }

    static func set(_ fd: Int32, _ e: TermiosEntry) throws {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { throw EngineError("tcgetattr", fd: fd, errno: .init(rawValue: errno)) }
        t.c_iflag = e.cIflag; t.c_oflag = e.cOflag; t.c_cflag = e.cCflag; t.c_lflag = e.cLflag
        t.c_line = cc_t(truncatingIfNeeded: e.cLine)
        t.c_ispeed = e.cIspeed; t.c_ospeed = e.cOspeed
        withUnsafeMutableBytes(of: &t.c_cc) { b in for (i, v) in e.cCc.prefix(b.count).enumerated() { b[i] = UInt8(truncatingIfNeeded: v) } }
        guard tcsetattr(fd, TCSANOW, &t) == 0 else { throw EngineError("tcsetattr", fd: fd, errno: .init(rawValue: errno)) }
    }

    /// The slave of a master, opened through the master (TIOCGPTPEER), so it works whatever devpts
    /// instance the pty lives in.
    static func openSlave(master: Int32) throws -> Int32 {
        let fd = Int32(csys_ioctl(master, CSYS_TIOCGPTPEER, UnsafeMutableRawPointer(bitPattern: Int(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC))))
        guard fd >= 0 else { throw EngineError("open pty slave (TIOCGPTPEER)", errno: .init(rawValue: errno)) }
        return fd
    }

    static func queued(_ fd: Int32) -> Int {
        var n: Int32 = 0
        return csys_ioctl(fd, CSYS_FIONREAD, &n) == 0 ? Int(n) : 0
    }

    /// Reads what `fd` has to read now (complete lines only in canonical mode).
    static func drain(_ fd: Int32, what: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var n = queued(fd)
        while n > 0 {
            var buf = [UInt8](repeating: 0, count: n)
            let r = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, n) }
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { break }
            out += buf[0..<r]
            n = queued(fd)
        }
        return out
    }

    /// Puts bytes back into each side's input queue: toSlave through the master, toMaster through the
    /// slave, with echo and output processing off meanwhile so the bytes arrive as they were.
    static func refill(master: Int32, slave: Int32, toSlave: [UInt8], toMaster: [UInt8]) throws {
        guard !toSlave.isEmpty || !toMaster.isEmpty else { return }
        var saved = termios()
        guard tcgetattr(slave, &saved) == 0 else { throw EngineError("tcgetattr pty slave", errno: .init(rawValue: errno)) }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOKE | ISIG)
        quiet.c_oflag &= ~tcflag_t(OPOST)
        quiet.c_iflag &= ~tcflag_t(ICRNL | INLCR | IGNCR | ISTRIP | IXON | IUCLC)
        guard tcsetattr(slave, TCSANOW, &quiet) == 0 else { throw EngineError("tcsetattr pty slave", errno: .init(rawValue: errno)) }
        defer { _ = tcsetattr(slave, TCSANOW, &saved) }
        let slaveBefore = queued(slave), masterBefore = queued(master)
        try put(master, toSlave, "pty slave queue")
        try put(slave, toMaster, "pty master queue")
        // The line discipline takes the bytes in from a work queue: wait for them before the
        // settings change back.
        for _ in 0..<200 where queued(slave) < slaveBefore + toSlave.count || queued(master) < masterBefore + toMaster.count {
            var ts = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&ts, nil)
        }
    }

    private static func put(_ fd: Int32, _ data: [UInt8], _ what: String) throws {
        var off = 0
        while off < data.count {
            let r = data.withUnsafeBytes { write(fd, $0.baseAddress! + off, data.count - off) }
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { throw EngineError("write \(data.count) bytes into \(what)", errno: .init(rawValue: errno)) }
            off += r
        }
    }
}
