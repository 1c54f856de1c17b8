/// Access rights of a mapping as /proc/PID/maps prints them (the VM_READ/WRITE/EXEC bits).
public struct Prot: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = Prot(rawValue: 1)
    public static let write = Prot(rawValue: 2)
    public static let exec = Prot(rawValue: 4)
}

/// What backs a mapping, from the last column of maps.
public enum VMAKind: Equatable, Sendable {
    /// No name: private or shared anonymous memory without a label.
    case anonymous
    /// A file. `deleted` means the kernel appended " (deleted)": the file was unlinked (this is also how
    /// memfd, SysV shm and MAP_SHARED|MAP_ANONYMOUS "/dev/zero" mappings appear).
    case file(path: String, deleted: Bool)
    case heap
    case stack
    case vdso
    case vvar
    case vvarVClock
    case vsyscall
    /// PR_SET_VMA_ANON_NAME label on private anonymous memory: "[anon:NAME]".
    case anonNamed(String)
    /// The same label on shared anonymous memory: "[anon_shmem:NAME]".
    case anonShmemNamed(String)
    /// Any other bracketed name the kernel may print (architecture-specific, newer kernels).
    case special(String)
}

/// One line of /proc/PID/maps.
public struct VMA: Equatable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var prot: Prot
    /// 's' (VM_MAYSHARE) rather than 'p'.
    public var shared: Bool
    public var offset: UInt64
    public var devMajor: UInt32
    public var devMinor: UInt32
    public var inode: UInt64
    public var kind: VMAKind
    /// Filled from smaps when the VMA came from there; nil when read from plain maps.
    public var flags: VmFlags?

    public init(start: UInt64, end: UInt64, prot: Prot, shared: Bool, offset: UInt64, devMajor: UInt32,
                devMinor: UInt32, inode: UInt64, kind: VMAKind, flags: VmFlags? = nil) {
        self.start = start; self.end = end; self.prot = prot; self.shared = shared; self.offset = offset
        self.devMajor = devMajor; self.devMinor = devMinor; self.inode = inode; self.kind = kind
        self.flags = flags
    }

    public var size: UInt64 { end - start }

    /// The file path for file mappings (without the " (deleted)" suffix).
    public var path: String? {
        if case .file(let p, _) = kind { return p }
        return nil
    }

    public var isDeleted: Bool {
        if case .file(_, let d) = kind { return d }
        return false
    }

    /// memfd_create files are shown as "/memfd:NAME (deleted)".
    public var isMemfd: Bool { isDeleted && (path?.hasPrefix("/memfd:") ?? false) }

    /// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS) is backed by an unlinked shmem file the
    /// kernel calls "/dev/zero"; a real /dev/zero mapping is never "(deleted)".
    public var isSharedAnonymous: Bool {
        if case .anonShmemNamed = kind { return true }
        return shared && isDeleted && path == "/dev/zero"
    }

    /// SysV shared memory segments appear as "/SYSV<key in hex> (deleted)".
    public var isSysVShm: Bool { isDeleted && (path?.hasPrefix("/SYSV") ?? false) }

    /// Mappings with no file behind them at all (pages live only in the task).
    public var isAnonymousPrivate: Bool {
        switch kind {
        case .anonymous, .heap, .stack, .anonNamed: return !shared
        default: return false
        }
    }

    /// Name of this VMA's entry in /proc/PID/map_files (the kernel prints it with "%lx-%lx").
    public var mapFilesName: String {
        String(start, radix: 16) + "-" + String(end, radix: 16)
    }
}

public enum Maps {
    /// Parse the text of /proc/PID/maps.
    public static func parse(_ text: String, source: String = "maps") throws(ProcError) -> [VMA] {
        var out: [VMA] = []
        for line in TextFields.lines(text) {
            out.append(try parseLine(line, source: source))
        }
        return out
    }

    /// True when a line is a VMA header ("start-end perms ..."), as opposed to a smaps "Key: value" line.
    static func isHeader(_ line: Substring) -> Bool {
        let u = line.utf8
        guard let dash = u.firstIndex(of: UInt8(ascii: "-")), dash != u.startIndex else { return false }
        return u[u.startIndex..<dash].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func parseLine(_ line: Substring, source: String) throws(ProcError) -> VMA {
        // "start-end perms offset major:minor inode", padding, then the name (which may contain spaces).
        let u = line.utf8
        var i = u.startIndex
        func field(_ what: String, _ radix: UInt64, _ stop: UInt8, optionalStop: Bool = false) throws(ProcError) -> UInt64 {
            var v: UInt64 = 0
            var digits = 0
            while i < u.endIndex, u[i] != stop {
                let c = u[i]
                let d: UInt64
                switch c {
                case 0x30...0x39: d = UInt64(c - 0x30)
                case 0x61...0x66: d = UInt64(c - 0x61 + 10)
                default: throw .malformed(source, "\(what): unexpected character in \"\(line)\"")
                }
                guard d < radix, digits < 20 else { throw .malformed(source, "\(what): bad number in \"\(line)\"") }
                v = v &* radix &+ d
                digits += 1
                i = u.index(after: i)
            }
            guard digits > 0, i < u.endIndex || optionalStop else {
                throw .malformed(source, "\(what): missing in \"\(line)\"")
            }
            if i < u.endIndex { i = u.index(after: i) }
            return v
        }
        let start = try field("start", 16, UInt8(ascii: "-"))
        let end = try field("end", 16, 0x20)
        guard start < end else { throw .malformed(source, "empty or inverted range in \"\(line)\"") }
        var perms: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        func perm() throws(ProcError) -> UInt8 {
            guard i < u.endIndex else { throw .malformed(source, "permissions: \"\(line)\"") }
            defer { i = u.index(after: i) }
            return u[i]
        }
        perms = (try perm(), try perm(), try perm(), try perm())
        guard i < u.endIndex, u[i] == 0x20 else { throw .malformed(source, "permissions: \"\(line)\"") }
        i = u.index(after: i)
        var prot: Prot = []
        if perms.0 == UInt8(ascii: "r") { prot.insert(.read) }
        if perms.1 == UInt8(ascii: "w") { prot.insert(.write) }
        if perms.2 == UInt8(ascii: "x") { prot.insert(.exec) }
        let offset = try field("offset", 16, 0x20)
        let ma = try field("device major", 16, UInt8(ascii: ":"))
        let mi = try field("device minor", 16, 0x20)
        // An anonymous mapping may end right after the inode, with no trailing space.
        let inode = try field("inode", 10, 0x20, optionalStop: true)
        while i < u.endIndex, u[i] == 0x20 { i = u.index(after: i) }
        guard ma <= UInt32.max, mi <= UInt32.max else { throw .malformed(source, "device in \"\(line)\"") }
        return VMA(start: start, end: end, prot: prot, shared: perms.3 == UInt8(ascii: "s"), offset: offset,
                   devMajor: UInt32(ma), devMinor: UInt32(mi), inode: inode, kind: kind(of: line[i...]))
    }

    static func kind(of name: Substring) -> VMAKind {
        if name.isEmpty { return .anonymous }
        if name.first == "[" && name.last == "]" {
            let inner = name.dropFirst().dropLast()
            switch inner {
            case "heap": return .heap
            case "stack": return .stack
            case "vdso": return .vdso
            case "vvar": return .vvar
            case "vvar_vclock": return .vvarVClock
            case "vsyscall": return .vsyscall
            default:
                if inner.hasPrefix("anon:") { return .anonNamed(String(inner.dropFirst(5))) }
                if inner.hasPrefix("anon_shmem:") { return .anonShmemNamed(String(inner.dropFirst(11))) }
                return .special(String(inner))
            }
        }
        let suffix = " (deleted)"
        if name.hasSuffix(suffix) {
            return .file(path: String(name.dropLast(suffix.count)), deleted: true)
        }
        return .file(path: String(name), deleted: false)
    }

    /// Read and parse /proc/PID/maps.
    public static func read(pid: Int32) throws(ProcError) -> [VMA] {
        let path = "/proc/\(pid)/maps"
        return try parse(ProcFile.readText(path), source: path)
    }

    /// The exact path of a file mapping, from the /proc/PID/map_files link. Unlike the maps column, it is
    /// not ambiguous for names containing " (deleted)" or newlines. Needs CAP_SYS_ADMIN (we are root).
    public static func mapFileTarget(pid: Int32, vma: VMA) throws(ProcError) -> String {
        try ProcFile.readLink("/proc/\(pid)/map_files/\(vma.mapFilesName)")
    }
}
