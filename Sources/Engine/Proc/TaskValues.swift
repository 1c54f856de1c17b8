/// Single-value files of /proc/PID: task settings that restore must put back and that can be read
/// from outside, so nothing needs to be injected for them.
public enum TaskValues {
    /// personality(2) value ("%08x"). Needs ptrace-attach rights, which we have.
    public static func personality(pid: Int32) throws(ProcError) -> UInt32 {
        try number("/proc/\(pid)/personality", radix: 16)
    }

    /// OOM score adjustment, -1000...1000.
    public static func oomScoreAdj(pid: Int32) throws(ProcError) -> Int32 {
        try number("/proc/\(pid)/oom_score_adj", radix: 10)
    }

    /// Timer slack in nanoseconds (PR_SET_TIMERSLACK).
    public static func timerSlackNs(pid: Int32) throws(ProcError) -> UInt64 {
        try number("/proc/\(pid)/timerslack_ns", radix: 10)
    }

    /// Which mappings a core dump includes ("%08lx" bits).
    public static func coredumpFilter(pid: Int32) throws(ProcError) -> UInt64 {
        try number("/proc/\(pid)/coredump_filter", radix: 16)
    }

    /// One number, surrounded by optional white space, in the given base.
    public static func parseNumber<T: FixedWidthInteger>(_ text: String, radix: Int, source: String) throws(ProcError) -> T {
        let s = text[...].trimmingSpaces()
        guard let v = T(s, radix: radix) else { throw .malformed(source, "not a number: \"\(s)\"") }
        return v
    }

    static func number<T: FixedWidthInteger>(_ path: String, radix: Int) throws(ProcError) -> T {
        try parseNumber(ProcFile.readText(path, limit: 4096), radix: radix, source: path)
    }
}
