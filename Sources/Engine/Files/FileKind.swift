import Glibc
import CSys
import Images
import SwiftProtobuf

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

/// What a file kind needs while dumping: a place to register the entries it writes, the images beside
/// files.img (pipe data, ghost files, ...), and the task's fds taken into our process.
final class FileDumpContext {
    private(set) var entries: [FileEntry] = []
    private var nextId: UInt32 = 1
    private var regularIds: [String: UInt32] = [:]
    /// The task whose fds are being dumped now (one context serves every task of a tree).
    private(set) var pid: Int32
    let options: FileDumpOptions
    /// image name -> (kind, entries each with its payload), written after the fd table.
    private(set) var images: [String: (kind: ImageKind, records: [(entry: [UInt8], payload: [UInt8])])] = [:]
    private(set) var imageOrder: [String] = []
    private var pidfd: Int32 = -1
    /// Pages in raw images written here (memfd contents), for the dump statistics.
    private(set) var pagesWritten: UInt64 = 0
    /// Per-kind memory across fds (pipe ids whose data is saved, ...).
    var seen: Set<String> = []
    /// Per-kind ids of shared objects by key (ghost file contents by inode, ...).
    var ids: [String: UInt32] = [:]
    /// pty index -> the task's fd of that master (TtyFile, found once per dump)
    var ptyMasters: [UInt32: Int32]?
    /// --shell-job: a terminal whose master is outside the task is the invoking one.
    var shellJob = false
    /// Every pid and tid of the dumped tree (pidfds may only point inside it).
    var treeIds: Set<Int32> = []
    /// pid -> file id -> lowest fd holding it, for every task dumped so far (SiblingShares).
    var held: [Int32: [UInt32: Int32]] = [:]
    /// File locks met on the fds (FileLocks).
    let locks = FileLockCollector()

    init(pid: Int32, options: FileDumpOptions = FileDumpOptions()) {
        self.pid = pid
        self.options = options
    }

    deinit { if pidfd >= 0 { close(pidfd) } }

    /// Moves on to the next task of the tree: its fds, its pidfd, its pty masters.
    func begin(pid: Int32) {
        guard pid != self.pid else { return }
        if pidfd >= 0 { close(pidfd) }
        pidfd = -1
        ptyMasters = nil
        self.pid = pid
    }

    /// Appends an entry (and the raw bytes that follow it) to an image other than files.img.
    func addImage(_ name: String, _ kind: ImageKind, _ entry: some SwiftProtobuf.Message, payload: [UInt8] = []) throws {
        let bytes: [UInt8]
        do { bytes = try entry.serializedBytes() } catch { throw EngineError.wrap(error, "encode \(name)") }
        if images[name] == nil { images[name] = (kind, []); imageOrder.append(name) }
        images[name]!.records.append((bytes, payload))
    }

    /// A raw image (pages) written as it is.
    func addRaw(_ name: String, _ bytes: [UInt8]) throws {
        pagesWritten += UInt64(bytes.count / 4096)
        if images[name] == nil { images[name] = (ImageKind.pages, []); imageOrder.append(name) }
        images[name]!.records.append(([], bytes))
    }

    /// The task's fd duplicated into this process (pidfd_getfd): same open file description, so the
    /// offset, owner and flags seen here are the task's. The caller closes it.
    func takeFd(_ fd: Int32) throws -> Int32 {
        if pidfd < 0 {
            pidfd = csys_sys_pidfd_open(pid, 0)
            guard pidfd >= 0 else { throw EngineError("pidfd_open", pid: pid, errno: .init(rawValue: errno)) }
        }
        let n = csys_sys_pidfd_getfd(pidfd, fd, 0)
        guard n >= 0 else { throw EngineError("pidfd_getfd", pid: pid, fd: fd, errno: .init(rawValue: errno)) }
        _ = csys_fcntl(n, F_SETFD, Int(FD_CLOEXEC))
        return n
    }

    func writeImages(_ dir: ImageDir) throws {
        for name in imageOrder {
            let (kind, records) = images[name]!
            let w = try dir.writer(name, kind)
            do {
                for r in records {
                    if kind.header != .raw { try w.writeEntryBytes(r.entry) }
                    if !r.payload.isEmpty { try w.writePayload(r.payload) }
                }
                try w.close()
            } catch { throw EngineError.wrap(error, "write image \(name)") }
        }
    }

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
    static func open(_ entry: FileEntry, context: FileRestoreContext) throws -> Int32
}

/// Dump options that concern files.
struct FileDumpOptions: Sendable {
    /// Largest deleted file whose contents are saved (--ghost-limit).
    var ghostLimit: UInt64 = 1 << 20
    /// --link-remap, --external file[...] keys: see LinkRemap, ExternalFile.
    var linkRemap = false, externalFiles: Set<String> = []
}

enum FileKinds {
    /// Every kind the engine handles, asked in order.
    /// Immutable after its lazy initialisation; metatypes of a non-Sendable protocol are not Sendable.
    nonisolated(unsafe) static let all: [any FileKind.Type] = [
        RegularFile.self, GhostFile.self, PipeFile.self, FifoFile.self, EventfdFile.self, SignalfdFile.self,
        TimerfdFile.self, InotifyFile.self, EpollFile.self, TtyFile.self, MemfdFile.self, FanotifyFile.self,
        PidfdFile.self,
    ]

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
            if fd.link.hasPrefix(MemfdFile.prefix) { return "memfd" }
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
