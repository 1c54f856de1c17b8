/// One POSIX timer of /proc/PID/timers. timer_gettime (injected) gives the remaining time and interval;
/// this file gives what only the kernel knows from outside: the timer's id, clock and how it notifies.
public struct PosixTimerInfo: Equatable, Sendable {
    public enum Notify: Equatable, Sendable {
        case signal, none, thread
        case other(String)
    }

    public var id: Int32
    public var signal: Int32
    /// sigev_value as the pointer-sized value the kernel keeps.
    public var sigval: UInt64
    public var notify: Notify
    /// SIGEV_THREAD_ID: the signal goes to one thread ("tid"), not to the process ("pid").
    public var toThread: Bool
    /// The pid or tid that receives the notification, in our pid namespace.
    public var target: Int32
    public var clockId: Int32
}

public enum Timers {
    /// Entries are blocks of "ID:", "signal: SIGNO/VALUE", "notify: KIND/pid.N" or "KIND/tid.N",
    /// "ClockID:" lines.
    public static func parse(_ text: String, source: String = "timers") throws(ProcError) -> [PosixTimerInfo] {
        var out: [PosixTimerInfo] = []
        var cur: PosixTimerInfo?
        var seen = 0
        func finish() throws(ProcError) {
            guard let c = cur else { return }
            guard seen == 4 else { throw .malformed(source, "timer \(c.id): incomplete entry") }
            out.append(c)
        }
        for line in TextFields.lines(text) {
            guard let (k, v) = TextFields.keyValue(line) else { throw .malformed(source, "line: \"\(line)\"") }
            switch k {
            case "ID":
                try finish()
                cur = PosixTimerInfo(id: try TextFields.dec(v, source, "ID"), signal: 0, sigval: 0, notify: .none,
                                     toThread: false, target: 0, clockId: 0)
                seen = 1
            case "signal":
                let p = v.split(separator: "/")
                guard cur != nil, p.count == 2 else { throw .malformed(source, "signal: \"\(v)\"") }
                cur!.signal = try TextFields.dec(p[0], source, "signal")
                cur!.sigval = try TextFields.hex(p[1], source, "signal value")
                seen += 1
            case "notify":
                let p = v.split(separator: "/")
                guard cur != nil, p.count == 2 else { throw .malformed(source, "notify: \"\(v)\"") }
                switch p[0] {
                case "signal": cur!.notify = .signal
                case "none": cur!.notify = .none
                case "thread": cur!.notify = .thread
                default: cur!.notify = .other(String(p[0]))
                }
                let who = p[1].split(separator: ".")
                guard who.count == 2, who[0] == "tid" || who[0] == "pid" else {
                    throw .malformed(source, "notify target: \"\(p[1])\"")
                }
                cur!.toThread = who[0] == "tid"
                cur!.target = try TextFields.dec(who[1], source, "notify target")
                seen += 1
            case "ClockID":
                guard cur != nil else { throw .malformed(source, "ClockID before ID") }
                cur!.clockId = try TextFields.dec(v, source, "ClockID")
                seen += 1
            default:
                continue  // newer kernels may add lines
            }
        }
        try finish()
        return out
    }

    public static func read(pid: Int32) throws(ProcError) -> [PosixTimerInfo] {
        let path = "/proc/\(pid)/timers"
        return try parse(ProcFile.readText(path), source: path)
    }
}
