/// /proc/PID/stat, all 52 fields. The mm fields (code/data/brk/arg/env bounds) are what PR_SET_MM_MAP
/// needs on restore; the kernel shows them only to a reader that may ptrace-read the task (we can).
public struct TaskStat: Equatable, Sendable {
    public var pid: Int32
    public var comm: String
    public var state: Character
    public var ppid: Int32
    public var pgrp: Int32
    public var session: Int32
    public var ttyNr: Int32
    public var tpgid: Int32
    public var flags: UInt32
    public var minflt: UInt64
    public var cminflt: UInt64
    public var majflt: UInt64
    public var cmajflt: UInt64
    public var utime: UInt64
    public var stime: UInt64
    public var cutime: Int64
    public var cstime: Int64
    public var priority: Int64
    public var nice: Int64
    public var numThreads: Int64
    public var itrealvalue: Int64
    public var startTime: UInt64
    public var vsize: UInt64
    public var rss: Int64
    public var rsslim: UInt64
    public var startCode: UInt64
    public var endCode: UInt64
    public var startStack: UInt64
    public var kstkesp: UInt64
    public var kstkeip: UInt64
    /// Obsolete decimal signal masks; use status for exact ones.
    public var signal: UInt64
    public var blocked: UInt64
    public var sigignore: UInt64
    public var sigcatch: UInt64
    public var wchan: UInt64
    public var nswap: UInt64
    public var cnswap: UInt64
    public var exitSignal: Int32
    public var processor: Int32
    public var rtPriority: UInt32
    public var policy: UInt32
    public var delayacctBlkioTicks: UInt64
    public var guestTime: UInt64
    public var cguestTime: Int64
    public var startData: UInt64
    public var endData: UInt64
    public var startBrk: UInt64
    public var argStart: UInt64
    public var argEnd: UInt64
    public var envStart: UInt64
    public var envEnd: UInt64
    public var exitCode: Int32
}

public enum Stat {
    public static func parse(_ text: String, source: String = "stat") throws(ProcError) -> TaskStat {
        // comm is whatever the task set (up to 15 bytes, any of them ' ' or ')'), so it ends at the LAST ')'.
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else {
            throw .malformed(source, "no \"(comm)\" field")
        }
        let pidText = text[text.startIndex..<open].trimmingSpaces()
        let comm = String(text[text.index(after: open)..<close])
        let f = TextFields.words(text[text.index(after: close)...].split(separator: "\n").first ?? "")
        // Fields 3..52; older kernels print fewer, which we do not support.
        guard f.count >= 50 else { throw .malformed(source, "expected 52 fields, found \(f.count + 2)") }
        guard let state = f[0].first else { throw .malformed(source, "empty state") }
        // f[i] is field number i + 3 in proc(5)'s numbering.
        func u(_ n: Int) throws(ProcError) -> UInt64 { try TextFields.dec(f[n - 3], source, "field \(n)") }
        func s(_ n: Int) throws(ProcError) -> Int64 { try TextFields.dec(f[n - 3], source, "field \(n)") }
        func i(_ n: Int) throws(ProcError) -> Int32 { try TextFields.dec(f[n - 3], source, "field \(n)") }
        func u32(_ n: Int) throws(ProcError) -> UInt32 { try TextFields.dec(f[n - 3], source, "field \(n)") }
        return TaskStat(
            pid: try TextFields.dec(pidText, source, "pid"), comm: comm, state: state,
            ppid: try i(4), pgrp: try i(5), session: try i(6), ttyNr: try i(7), tpgid: try i(8),
            flags: try u32(9), minflt: try u(10), cminflt: try u(11), majflt: try u(12), cmajflt: try u(13),
            utime: try u(14), stime: try u(15), cutime: try s(16), cstime: try s(17), priority: try s(18),
            nice: try s(19), numThreads: try s(20), itrealvalue: try s(21), startTime: try u(22),
            vsize: try u(23), rss: try s(24), rsslim: try u(25), startCode: try u(26), endCode: try u(27),
            startStack: try u(28), kstkesp: try u(29), kstkeip: try u(30), signal: try u(31),
            blocked: try u(32), sigignore: try u(33), sigcatch: try u(34), wchan: try u(35),
            nswap: try u(36), cnswap: try u(37), exitSignal: try i(38), processor: try i(39),
            rtPriority: try u32(40), policy: try u32(41), delayacctBlkioTicks: try u(42),
            guestTime: try u(43), cguestTime: try s(44), startData: try u(45), endData: try u(46),
            startBrk: try u(47), argStart: try u(48), argEnd: try u(49), envStart: try u(50),
            envEnd: try u(51), exitCode: try i(52))
    }

    public static func read(pid: Int32) throws(ProcError) -> TaskStat {
        let path = "/proc/\(pid)/stat"
        return try parse(ProcFile.readText(path), source: path)
    }

    /// Only the parent pid (field 4): walking criu's ancestors reads one per ancestor before anything
    /// else happens, and the whole of status or stat is most of that time.
    public static func parent(of pid: Int32) throws(ProcError) -> Int32 {
        let path = "/proc/\(pid)/stat"
        // A stat line is well under 4 KiB (comm is at most 64 bytes, the rest 50 numbers).
        return try parentField(ProcFile.readBytes(path, limit: 4096), source: path)
    }

    static func parentField(_ bytes: [UInt8], source: String) throws(ProcError) -> Int32 {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { throw .malformed(source, "no \"(comm)\" field") }
        // ") S PPID ": the state letter, then the parent.
        var i = close + 1
        var field = 0
        var value: Int64 = 0
        var digits = 0
        while i <= bytes.count {
            let c = i < bytes.count ? bytes[i] : UInt8(ascii: "\n")
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\n") {
                if field == 2 && digits > 0 { return Int32(value) }
                field += 1
            } else if field == 2 {
                guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"), digits < 10 else { break }
                value = value * 10 + Int64(c - UInt8(ascii: "0"))
                guard value <= Int64(Int32.max) else { break }
                digits += 1
            }
            i += 1
        }
        throw .malformed(source, "no parent pid field")
    }

    public static func read(pid: Int32, tid: Int32) throws(ProcError) -> TaskStat {
        let path = "/proc/\(pid)/task/\(tid)/stat"
        return try parse(ProcFile.readText(path), source: path)
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s = s.dropLast() }
        return s
    }
}
