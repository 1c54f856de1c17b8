import Glibc
import SystemPackage

/// A failed read of something under /proc: which path, what we were doing, and why.
public struct ProcError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let operation: String
    public let errno: Errno?
    public let detail: String?

    public init(path: String, _ operation: String, errno: Errno? = nil, detail: String? = nil) {
        self.path = path
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    /// A line or field of a /proc file that does not have the shape the kernel documents.
    public static func malformed(_ path: String, _ detail: String) -> ProcError {
        ProcError(path: path, "parse", detail: detail)
    }

    public var description: String {
        var s = "\(path): \(operation) failed"
        if let errno { s += ": \(errno.description) (errno \(errno.rawValue))" }
        if let detail { s += ": \(detail)" }
        return s
    }
}

/// Reading /proc. Files there report size 0, so they are read until EOF; a size cap keeps a
/// misbehaving (or hostile, e.g. a task mapping millions of VMAs) source from exhausting our memory.
public enum ProcFile {
    /// Default cap: far above any real maps/smaps/mountinfo, yet bounded.
    public static let defaultLimit = 256 << 20

    /// The whole content of a /proc file as bytes.
    public static func readBytes(_ path: String, limit: Int = defaultLimit) throws(ProcError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ProcError(path: path, "open", errno: Errno(rawValue: Glibc.errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        // seq_file hands out about a page per read however much we ask for, so read into a fixed
        // scratch buffer and append what came.
        var scratch = [UInt8](repeating: 0, count: min(64 << 10, max(limit, 1)))
        while true {
            var n = 0
            repeat {
                n = scratch.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            } while n < 0 && Glibc.errno == EINTR
            if n < 0 { throw ProcError(path: path, "read", errno: Errno(rawValue: Glibc.errno)) }
            if n == 0 { return out }
            if out.count + n > limit {
                throw ProcError(path: path, "read", detail: "larger than the \(limit)-byte limit")
            }
            out.append(contentsOf: scratch[0..<n])
        }
    }

    /// The whole content as text. Invalid UTF-8 (a file name with arbitrary bytes) is an error rather
    /// than a silently replaced character: a wrong path would restore the wrong file.
    public static func readText(_ path: String, limit: Int = defaultLimit) throws(ProcError) -> String {
        let bytes = try readBytes(path, limit: limit)
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw ProcError(path: path, "decode", detail: "content is not valid UTF-8")
        }
        return s
    }

    /// The target of a symbolic link (/proc/PID/exe, fd/N, map_files/...), byte-exact.
    public static func readLinkBytes(_ path: String) throws(ProcError) -> [UInt8] {
        var size = 4096
        while true {
            var buf = [UInt8](repeating: 0, count: size)
            let n = buf.withUnsafeMutableBytes { p in
                readlink(path, p.baseAddress!.assumingMemoryBound(to: CChar.self), size)
            }
            if n < 0 { throw ProcError(path: path, "readlink", errno: Errno(rawValue: Glibc.errno)) }
            if n < size { return Array(buf[0..<n]) }
            // Truncated: the kernel fills the whole buffer silently, so try again with more room.
            if size >= 1 << 20 { throw ProcError(path: path, "readlink", detail: "target longer than 1 MiB") }
            size *= 4
        }
    }

    public static func readLink(_ path: String) throws(ProcError) -> String {
        let bytes = try readLinkBytes(path)
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw ProcError(path: path, "decode", detail: "link target is not valid UTF-8")
        }
        return s
    }

    /// Names in a directory, without "." and "..", in the order the kernel gives them.
    public static func listDirectory(_ path: String) throws(ProcError) -> [String] {
        guard let dir = opendir(path) else {
            throw ProcError(path: path, "opendir", errno: Errno(rawValue: Glibc.errno))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            Glibc.errno = 0
            guard let ent = readdir(dir) else {
                if Glibc.errno != 0 { throw ProcError(path: path, "readdir", errno: Errno(rawValue: Glibc.errno)) }
                return names
            }
            let name = withUnsafePointer(to: &ent.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// Numeric entries of a directory (task ids, fd numbers), sorted.
    public static func listNumbers(_ path: String) throws(ProcError) -> [Int32] {
        try listDirectory(path).compactMap { Int32($0) }.sorted()
    }
}
