/// /proc/PID/auxv: the ELF auxiliary vector the kernel gave the program, as (type, value) pairs up to
/// and including AT_NULL. Restore hands it back with PR_SET_MM_MAP so that getauxval() and
/// /proc/PID/auxv read as before.
public struct AuxEntry: Equatable, Sendable {
    public var type: UInt64
    public var value: UInt64
    public init(type: UInt64, value: UInt64) { self.type = type; self.value = value }
}

public enum Auxv {
    public static let atNull: UInt64 = 0

    public static func parse(_ bytes: [UInt8], source: String = "auxv") throws(ProcError) -> [AuxEntry] {
        guard bytes.count % 16 == 0 else { throw .malformed(source, "\(bytes.count) bytes is not a whole number of pairs") }
        var out: [AuxEntry] = []
        out.reserveCapacity(bytes.count / 16)
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let t = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: off, as: UInt64.self))
                let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: off + 8, as: UInt64.self))
                out.append(AuxEntry(type: t, value: v))
                off += 16
                if t == atNull { break }
            }
        }
        guard out.last?.type == atNull else { throw .malformed(source, "no AT_NULL terminator") }
        return out
    }

    public static func read(pid: Int32) throws(ProcError) -> [AuxEntry] {
        let path = "/proc/\(pid)/auxv"
        return try parse(ProcFile.readBytes(path), source: path)
    }

    /// The value of the first entry of a type (AT_PAGESZ = 6, AT_ENTRY = 9, AT_SYSINFO_EHDR = 33, ...).
    public static func value(_ entries: [AuxEntry], _ type: UInt64) -> UInt64? {
        entries.first { $0.type == type }?.value
    }
}

/// NUL-separated strings: /proc/PID/cmdline and /proc/PID/environ. Kept as bytes: arguments and
/// environment are arbitrary bytes, not necessarily UTF-8.
public enum NulSeparated {
    public static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var cur: [UInt8] = []
        for b in bytes {
            if b == 0 { out.append(cur); cur = [] } else { cur.append(b) }
        }
        // A task may overwrite its argument area so that the last string has no NUL; keep it.
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// For logs and messages only (invalid bytes are replaced).
    public static func strings(_ bytes: [UInt8]) -> [String] {
        split(bytes).map { String(decoding: $0, as: UTF8.self) }
    }
}

public enum TaskLinks {
    public static func cmdline(pid: Int32) throws(ProcError) -> [[UInt8]] {
        NulSeparated.split(try ProcFile.readBytes("/proc/\(pid)/cmdline"))
    }

    public static func environ(pid: Int32) throws(ProcError) -> [[UInt8]] {
        NulSeparated.split(try ProcFile.readBytes("/proc/\(pid)/environ"))
    }

    /// The executable, byte-exact (may end in " (deleted)").
    public static func exe(pid: Int32) throws(ProcError) -> String { try ProcFile.readLink("/proc/\(pid)/exe") }
    public static func cwd(pid: Int32) throws(ProcError) -> String { try ProcFile.readLink("/proc/\(pid)/cwd") }
    public static func root(pid: Int32) throws(ProcError) -> String { try ProcFile.readLink("/proc/\(pid)/root") }
}
