import CSys
import Glibc
import SystemPackage

/// Reads a whole /proc file (their size is unknown up front, so read until EOF).
func readProcFile(_ path: String, pid: pid_t) throws -> [UInt8] {
    let fd = csys_open(path, O_RDONLY | O_CLOEXEC, 0)
    if fd < 0 {
        let e = Errno(rawValue: errno)
        throw CompelError(pid: pid, "open \(path)", errno: e, detail: e == .noSuchFileOrDirectory ? "no such process" : nil)
    }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CompelError(pid: pid, "read \(path)", errno: Errno(rawValue: errno))
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

func readProcText(_ path: String, pid: pid_t) throws -> String {
    String(decoding: try readProcFile(path, pid: pid), as: UTF8.self)
}

/// One line of /proc/PID/maps.
public struct MapEntry: Sendable, Equatable {
    public let start: UInt64
    public let end: UInt64
    public let readable: Bool
    public let writable: Bool
    public let executable: Bool
    public let shared: Bool
    public let path: String
    /// Offset in the mapped file (0 for anonymous memory).
    public var offset: UInt64 = 0
}

/// The task's mappings, from /proc/PID/maps.
public func readMaps(pid: pid_t) throws -> [MapEntry] {
    var entries: [MapEntry] = []
    for line in try readProcText("/proc/\(pid)/maps", pid: pid).split(separator: "\n") {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5 else { continue }
        let range = fields[0].split(separator: "-")
        guard range.count == 2, let s = UInt64(range[0], radix: 16), let e = UInt64(range[1], radix: 16) else { continue }
        let p = Array(fields[1].utf8)
        guard p.count >= 4 else { continue }
        let path = fields.count == 6 ? String(fields[5]).trimmingLeadingSpaces() : ""
        entries.append(MapEntry(start: s, end: e, readable: p[0] == UInt8(ascii: "r"), writable: p[1] == UInt8(ascii: "w"),
                                executable: p[2] == UInt8(ascii: "x"), shared: p[3] == UInt8(ascii: "s"), path: path,
                                offset: UInt64(fields[2], radix: 16) ?? 0))
    }
    return entries
}

extension String {
    func trimmingLeadingSpaces() -> String { String(self.drop(while: { $0 == " " })) }
}

/// The thread ids of a thread group, from /proc/PID/task.
func listThreads(pid: pid_t) throws -> [pid_t] {
    guard let dir = opendir("/proc/\(pid)/task") else {
        let e = Errno(rawValue: errno)
        throw CompelError(pid: pid, "list /proc/\(pid)/task", errno: e == .noSuchFileOrDirectory ? .noSuchProcess : e)
    }
    defer { closedir(dir) }
    var tids: [pid_t] = []
    while let ent = readdir(dir) {
        let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if let t = pid_t(name) { tids.append(t) }
    }
    return tids.sorted()
}

/// The one-letter scheduler state of a thread ("R", "S", "T", "t", ...), from /proc/PID/task/TID/status.
func threadState(pid: pid_t, tid: pid_t) throws -> Character? {
    let text = try readProcText("/proc/\(pid)/task/\(tid)/status", pid: tid)
    for line in text.split(separator: "\n") where line.hasPrefix("State:") {
        return line.dropFirst(6).first(where: { $0 != " " && $0 != "\t" })
    }
    return nil
}

/// The tracer of a thread (0 when none), from TracerPid in its status file.
func tracerPid(pid: pid_t, tid: pid_t) -> pid_t {
    guard let text = try? readProcText("/proc/\(pid)/task/\(tid)/status", pid: tid) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("TracerPid:") {
        return pid_t(line.dropFirst(10).trimmingCharacters()) ?? 0
    }
    return 0
}

extension Substring {
    func trimmingCharacters() -> String { String(self.filter { $0 != " " && $0 != "\t" }) }
}
