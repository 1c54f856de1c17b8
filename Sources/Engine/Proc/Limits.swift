/// One resource limit; `infinity` (RLIM_INFINITY, all ones) where the kernel prints "unlimited".
public struct RLimit: Equatable, Sendable {
    public static let infinity = UInt64.max
    public var soft: UInt64
    public var hard: UInt64
    public init(soft: UInt64, hard: UInt64) { self.soft = soft; self.hard = hard }
}

/// /proc/PID/limits. We read limits here rather than with prlimit(2): prlimit on a task of another
/// user needs CAP_SYS_RESOURCE, which the machines we run on do not grant even to root, while this file
/// only needs ptrace-read access.
public enum Limits {
    /// Row names in RLIMIT_* order (RLIMIT_CPU = 0 ... RLIMIT_RTTIME = 15).
    public static let names = [
        "Max cpu time", "Max file size", "Max data size", "Max stack size", "Max core file size",
        "Max resident set", "Max processes", "Max open files", "Max locked memory", "Max address space",
        "Max file locks", "Max pending signals", "Max msgqueue size", "Max nice priority",
        "Max realtime priority", "Max realtime timeout",
    ]

    /// The 16 limits indexed by RLIMIT_* number.
    public static func parse(_ text: String, source: String = "limits") throws(ProcError) -> [RLimit] {
        var out = [RLimit?](repeating: nil, count: names.count)
        for line in TextFields.lines(text) {
            if line.hasPrefix("Limit ") { continue }
            guard let idx = names.firstIndex(where: { line.hasPrefix($0 + " ") }) else {
                throw .malformed(source, "unknown limit line: \"\(line)\"")
            }
            let w = TextFields.words(line.dropFirst(names[idx].count))
            guard w.count >= 2 else { throw .malformed(source, "missing soft/hard values: \"\(line)\"") }
            guard out[idx] == nil else { throw .malformed(source, "\"\(names[idx])\" appears twice") }
            out[idx] = RLimit(soft: try value(w[0], source, names[idx]), hard: try value(w[1], source, names[idx]))
        }
        var limits: [RLimit] = []
        for (i, l) in out.enumerated() {
            guard let l else { throw .malformed(source, "no \"\(names[i])\" line") }
            limits.append(l)
        }
        return limits
    }

    static func value(_ s: Substring, _ source: String, _ what: String) throws(ProcError) -> UInt64 {
        if s == "unlimited" { return RLimit.infinity }
        return try TextFields.dec(s, source, what)
    }

    public static func read(pid: Int32) throws(ProcError) -> [RLimit] {
        let path = "/proc/\(pid)/limits"
        return try parse(ProcFile.readText(path), source: path)
    }
}
