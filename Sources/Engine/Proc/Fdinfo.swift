import Glibc

/// /proc/PID/fdinfo/N: the generic header every fd has, plus every line kept for the parser of the
/// fd's kind (eventfd-count, timerfd clock/ticks, signalfd sigmask, inotify/fanotify marks, epoll tfds,
/// file locks).
public struct FdInfo: Equatable, Sendable {
    public var pos: UInt64
    /// open(2) flags as the kernel keeps them in f_flags (printed in octal), e.g. O_APPEND|O_CLOEXEC.
    public var flags: UInt32
    public var mntId: Int32
    public var ino: UInt64
    /// Every line after the generic ones, split at the first ':' ("eventfd-count", "0"); inotify and
    /// fanotify mark lines under the key "inotify"/"fanotify" with the rest of the line as value.
    /// Repeated keys (one "tfd" per epoll target, one "inotify" per watch) stay in order.
    public var extra: [(key: String, value: String)]

    public static func == (a: FdInfo, b: FdInfo) -> Bool {
        a.pos == b.pos && a.flags == b.flags && a.mntId == b.mntId && a.ino == b.ino
            && a.extra.map { $0.key } == b.extra.map { $0.key } && a.extra.map { $0.value } == b.extra.map { $0.value }
    }

    /// First value of an extra key.
    public func value(_ key: String) -> String? { extra.first { $0.key == key }?.value }

    /// All values of a repeated extra key.
    public func values(_ key: String) -> [String] { extra.filter { $0.key == key }.map { $0.value } }
}

public enum Fdinfo {
    public static func parse(_ text: String, source: String = "fdinfo") throws(ProcError) -> FdInfo {
        var pos: UInt64?, flags: UInt32?, mnt: Int32?, ino: UInt64?
        var extra: [(key: String, value: String)] = []
        for line in TextFields.lines(text) {
            // Mark lines carry their own "k:v" pairs after a kind word: "inotify wd:1 ino:2a ...",
            // "fanotify flags:10 event-flags:0", "fanotify ino:... mflags:0 mask:...".
            for kind in ["inotify ", "fanotify "] where line.hasPrefix(kind) {
                extra.append((String(kind.dropLast()), String(line.dropFirst(kind.count).trimmingSpaces())))
            }
            if line.hasPrefix("inotify ") || line.hasPrefix("fanotify ") { continue }
            guard let (k, v) = TextFields.keyValue(line) else {
                throw .malformed(source, "not a \"key: value\" line: \"\(line)\"")
            }
            switch k {
            case "pos" where pos == nil: pos = try TextFields.dec(v, source, "pos")
            case "flags" where flags == nil: flags = try TextFields.oct(v, source, "flags")
            case "mnt_id" where mnt == nil: mnt = try TextFields.dec(v, source, "mnt_id")
            case "ino" where ino == nil: ino = try TextFields.dec(v, source, "ino")
            default: extra.append((String(k), String(v)))
            }
        }
        guard let pos, let flags, let mnt else { throw .malformed(source, "missing pos/flags/mnt_id") }
        // "ino:" is printed since Linux 5.14; it is required here because kinds are matched by inode.
        guard let ino else { throw .malformed(source, "missing ino") }
        return FdInfo(pos: pos, flags: flags, mntId: mnt, ino: ino, extra: extra)
    }

    /// Split the "k:v k2: v2 ..." body of inotify, fanotify and epoll lines into pairs, e.g.
    /// "wd:1 ino:2a sdev:800001 mask:fff" or "5 events:       19 data:  5  pos:0 ino:3 sdev:f" (after
    /// "tfd:"). A bare leading word is returned with an empty key.
    public static func tokens(_ s: String) -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        var pendingKey: String?
        for w in TextFields.words(s[...]) {
            if let k = pendingKey {
                out.append((k, String(w)))
                pendingKey = nil
            } else if let colon = w.firstIndex(of: ":") {
                let k = String(w[w.startIndex..<colon])
                let v = w[w.index(after: colon)...]
                if v.isEmpty { pendingKey = k } else { out.append((k, String(v))) }
            } else {
                out.append(("", String(w)))
            }
        }
        if let k = pendingKey { out.append((k, "")) }
        return out
    }

    public static func read(pid: Int32, fd: Int32) throws(ProcError) -> FdInfo {
        let path = "/proc/\(pid)/fdinfo/\(fd)"
        return try parse(ProcFile.readText(path), source: path)
    }
}

/// What an fd points at, from the /proc/PID/fd/N link.
public enum FdTarget: Equatable, Sendable {
    case path(String, deleted: Bool)
    case pipe(inode: UInt64)
    case socket(inode: UInt64)
    /// anon_inode:[eventfd], anon_inode:inotify, anon_inode:[timerfd], anon_inode:[pidfd] ... (brackets removed)
    case anonInode(String)
    /// Other "type:[inode]" objects, e.g. namespace fds ("net:[4026531840]").
    case kernelObject(type: String, inode: UInt64)

    public static func parse(_ link: String) -> FdTarget {
        if link.hasPrefix("/") {
            let suffix = " (deleted)"
            if link.hasSuffix(suffix) { return .path(String(link.dropLast(suffix.count)), deleted: true) }
            return .path(link, deleted: false)
        }
        if link.hasPrefix("anon_inode:") {
            var name = link.dropFirst("anon_inode:".count)
            if name.first == "[" && name.last == "]" { name = name.dropFirst().dropLast() }
            return .anonInode(String(name))
        }
        if let colon = link.firstIndex(of: ":") {
            let type = link[link.startIndex..<colon]
            let rest = link[link.index(after: colon)...]
            if rest.first == "[", rest.last == "]", let ino = UInt64(rest.dropFirst().dropLast()) {
                switch type {
                case "pipe": return .pipe(inode: ino)
                case "socket": return .socket(inode: ino)
                default: return .kernelObject(type: String(type), inode: ino)
                }
            }
        }
        // Paths outside our root or on detached mounts do not start with '/'; keep them as they are.
        return .path(link, deleted: false)
    }
}

public struct FdEntry: Equatable, Sendable {
    public var fd: Int32
    /// The link text exactly as readlink returned it.
    public var link: String
    public var target: FdTarget
}

public enum Fds {
    /// Every open fd of a task with its link target, sorted by number. An fd that disappears between
    /// listing and readlink (only possible when the task is running, e.g. our own opendir fd) is skipped.
    public static func list(pid: Int32) throws(ProcError) -> [FdEntry] {
        var out: [FdEntry] = []
        for fd in try ProcFile.listNumbers("/proc/\(pid)/fd") {
            let link: String
            do {
                link = try ProcFile.readLink("/proc/\(pid)/fd/\(fd)")
            } catch let e where e.errno == .noSuchFileOrDirectory {
                continue
            }
            out.append(FdEntry(fd: fd, link: link, target: FdTarget.parse(link)))
        }
        return out
    }
}
