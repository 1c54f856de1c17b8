/// One line of /proc/PID/maps.
public struct VMA: Equatable, Sendable, CustomStringConvertible {
    public var start: UInt64
    public var end: UInt64
    public var perms: String
    public var offset: UInt64
    public var inode: UInt64
    public var path: String

    public init(start: UInt64, end: UInt64, perms: String, offset: UInt64 = 0, inode: UInt64 = 0, path: String = "") {
        self.start = start
        self.end = end
        self.perms = perms
        self.offset = offset
        self.inode = inode
        self.path = path
    }

    public var description: String {
        "\(String(start, radix: 16))-\(String(end, radix: 16)) \(perms) \(String(offset, radix: 16)) \(path)"
    }

    /// Parses "start-end perms offset dev inode [path]"; nil for a malformed line.
    public static func parse(_ line: Substring) -> VMA? {
        let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard f.count >= 5 else { return nil }
        let range = f[0].split(separator: "-")
        guard range.count == 2, let s = UInt64(range[0], radix: 16), let e = UInt64(range[1], radix: 16),
              let off = UInt64(f[2], radix: 16), let ino = UInt64(f[4]) else { return nil }
        let path = f.count > 5 ? f[5].trimmingCharacters(in: .whitespaces) : ""
        return VMA(start: s, end: e, perms: String(f[1]), offset: off, inode: ino, path: path)
    }
}

public enum Maps {
    public static func parse(_ text: String) -> [VMA] {
        text.split(separator: "\n").compactMap(VMA.parse)
    }

    /// Merges neighbours the kernel may split or join differently after a restore without any visible
    /// difference: same permissions, same backing, and (for files) contiguous offsets.
    public static func merge(_ vmas: [VMA]) -> [VMA] {
        var out: [VMA] = []
        for v in vmas {
            if var last = out.last, last.end == v.start, last.perms == v.perms, last.path == v.path,
               last.inode == v.inode,
               v.inode == 0 || v.offset == last.offset + (last.end - last.start) {
                last.end = v.end
                out[out.count - 1] = last
            } else {
                out.append(v)
            }
        }
        return out
    }

    /// Human-readable differences between two merged lists (empty when equal). Inode numbers of
    /// anonymous shared memory and of deleted files change with every restore, so only the path and
    /// layout are compared.
    public static func diff(before: [VMA], after: [VMA]) -> [String] {
        func key(_ v: VMA) -> String { "\(String(v.start, radix: 16))-\(String(v.end, radix: 16)) \(v.perms) \(v.path)" }
        let b = before.map(key), a = after.map(key)
        let bs = Set(b), as_ = Set(a)
        var out: [String] = []
        for k in b where !as_.contains(k) { out.append("vma gone: \(k)") }
        for k in a where !bs.contains(k) { out.append("vma new: \(k)") }
        return out
    }
}
