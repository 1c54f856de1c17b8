import Glibc
import CSys
import Images

/// An open fd of a task as the dump sees it: its number, where it points, what fdinfo and stat say.
struct OpenFd {
    let pid: Int32
    let fd: Int32
    let link: String
    let target: FdTarget
    let info: FdInfo
    let stat: stat
    /// FD_CLOEXEC of the fd itself (not of the file description).
    let closeOnExec: Bool

    var fileType: mode_t { stat.st_mode & S_IFMT }
}

/// What a file kind needs while dumping: a place to register the entries it writes.
final class FileDumpContext {
    private(set) var entries: [FileEntry] = []
    private var nextId: UInt32 = 1
    private var regularIds: [String: UInt32] = [:]
    let pid: Int32

    init(pid: Int32) { self.pid = pid }

    func newId() -> UInt32 {
        defer { nextId += 1 }
        return nextId
    }

    func add(_ e: FileEntry) { entries.append(e) }

    /// A regular file or directory opened by path for a purpose other than an fd (cwd, root, exe, a
    /// mapping): one entry per path and open mode.
    func registerPath(_ path: String, flags: UInt32) throws -> UInt32 {
        let key = "\(flags):\(path)"
        if let id = regularIds[key] { return id }
        var st = stat()
        guard csys_stat(path, &st) == 0 else {
            throw EngineError("dump", pid: pid, path: path, errno: .init(rawValue: errno), reason: "can't stat file the task uses")
        }
        let id = newId()
        add(RegularFile.entry(id: id, path: path, flags: flags, pos: 0, stat: st, mntId: nil))
        regularIds[key] = id
        return id
    }
}

/// One kind of file descriptor: recognising it, describing it for files.img, and opening it again.
protocol FileKind {
    static var type: FdTypes { get }
    static var name: String { get }
    /// Whether this kind handles the fd.
    static func matches(_ fd: OpenFd) -> Bool
    /// Writes the file's entry (once per open file description) and returns its id.
    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32
    /// Opens the file again inside the restored task, before it is seized; returns a new fd at any number.
    static func open(_ entry: FileEntry) throws -> Int32
}

enum FileKinds {
    /// Every kind the engine handles, asked in order.
    static let all: [any FileKind.Type] = [RegularFile.self]

    /// F_SETOWN state of a file nobody asked signals for.
    static var noOwner: FownEntry {
        var f = FownEntry()
        f.uid = 0; f.euid = 0; f.signum = 0; f.pidType = 0; f.pid = 0
        return f
    }

    static func kind(for type: FdTypes) -> (any FileKind.Type)? {
        all.first { $0.type == type }
    }

    /// Names what an unsupported fd is, for the error line.
    static func describe(_ fd: OpenFd) -> String {
        switch fd.target {
        case .pipe: return "pipe"
        case .socket: return "socket"
        case .anonInode(let name): return name
        case .kernelObject(let type, _): return "\(type) namespace/object"
        case .path(_, let deleted):
            if deleted { return "deleted file" }
            switch fd.fileType {
            case S_IFIFO: return "fifo"
            case S_IFSOCK: return "unix socket file"
            case S_IFCHR: return isatty(fd) ? "terminal" : "character device"
            default: return "file"
            }
        }
    }

    private static func isatty(_ fd: OpenFd) -> Bool {
        // Linux tty majors: 4 (vt, ttyS), 5 (/dev/tty, ptmx), 136-143 (pts).
        let major = (fd.stat.st_rdev >> 8) & 0xfff
        return major == 4 || major == 5 || (136...143).contains(major)
    }
}
