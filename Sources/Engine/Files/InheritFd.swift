import Glibc
import CSys
import Images

/// `criu restore --inherit-fd fd[N]:KEY`: criu's own fd N stands in for the dumped file named KEY, as
/// CRIU defines the keys: `pipe:[INODE]` for a pipe (how container runtimes hand their stdio pipes to
/// a restored container), `socket:[INODE]` for a unix socket, `file[MNT_ID:INODE]` for a file and
/// `tty[RDEV:DEV]` for a terminal dumped with --external, or a file's path without its leading slash.
public enum InheritFd {
    /// Parses `fd[N]:KEY`.
    public static func parse(_ spec: String) throws -> (fd: Int32, key: String) {
        guard spec.hasPrefix("fd["), let close = spec.firstIndex(of: "]"),
              let n = Int32(spec[spec.index(spec.startIndex, offsetBy: 3)..<close]), n >= 0,
              spec[spec.index(after: close)...].hasPrefix(":"), spec.distance(from: close, to: spec.endIndex) > 2 else {
            throw EngineError("restore", reason: "--inherit-fd \(spec): expected fd[N]:KEY")
        }
        return (n, String(spec[spec.index(close, offsetBy: 2)...]))
    }

    /// Checks each fd is open and moves a copy off every fd number any task will use, so that placing
    /// the tasks' fds cannot close it before its file is reached. Returns key -> copy.
    static func park(_ inherit: [String: Int32], targets: Set<Int32>) throws -> [String: Int32] {
        guard !inherit.isEmpty else { return [:] }
        let spare = SpareFds(targets: targets)
        var out: [String: Int32] = [:]
        for (key, fd) in inherit {
            let n = csys_fcntl(fd, F_DUPFD_CLOEXEC, 0)
            guard n >= 0 else {
                throw EngineError("restore", fd: fd, errno: .init(rawValue: errno), reason: "--inherit-fd fd[\(fd)]:\(key): fd \(fd) is not open")
            }
            out[key] = try spare.park(n, "--inherit-fd fd[\(fd)]")
        }
        return out
    }

    /// CRIU's key for a dumped file, nil for kinds that cannot be inherited.
    static func keys(_ e: FileEntry, _ images: FileImages) -> [String] {
        switch e.type {
        case .tty:
            guard let i = images.ttyInfos[e.tty.ttyInfoID], i.type == .extTty else { return [] }
            return [ExternalFile.ttyKey(i)]
        case .reg:
            if e.reg.ext { return [e.reg.name] }
            // CRIU's key is the path without its leading slash; the full path is accepted too.
            return e.reg.name.hasPrefix("/") ? [String(e.reg.name.dropFirst()), e.reg.name] : [e.reg.name]
        case .pipe: return ["pipe:[\(e.pipe.pipeID)]"]
        case .unixsk: return ["socket:[\(e.usk.ino)]"]
        default: return []
        }
    }

    /// The inherited fd for this file: a regular file is opened again through it (its own flags and
    /// position, as CRIU does), anything else is the inherited description itself.
    static func open(_ e: FileEntry, context: FileRestoreContext) throws -> Int32? {
        guard !context.images.inheritFds.isEmpty,
              let have = keys(e, context.images).lazy.compactMap({ context.images.inheritFds[$0] }).first else { return nil }
        if e.type == .reg {
            var st = stat()
            guard fstat(have, &st) == 0 else { throw EngineError("inherited fd for file", path: e.reg.name, errno: .init(rawValue: errno)) }
            return try RegularFile.open(path: "/proc/self/fd/\(have)", e.reg, stat: st)
        }
        let n = csys_fcntl(have, F_DUPFD_CLOEXEC, 0)
        guard n >= 0 else { throw EngineError("inherited fd", errno: .init(rawValue: errno), reason: keys(e, context.images).first) }
        return n
    }
}
