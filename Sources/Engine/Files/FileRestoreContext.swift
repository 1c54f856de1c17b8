import Glibc
import CSys
import Images

/// The images beside files.img that file kinds need on restore, read and checked in the restorer before
/// anything is forked: pipe and fifo data, ghost file contents, remaps.
struct FileImages {
    /// pipe id -> (capacity, queued bytes)
    var pipeData: [UInt32: (size: UInt32, data: [UInt8])] = [:]
    var fifoData: [UInt32: (size: UInt32, data: [UInt8])] = [:]
    /// file id -> remap id (ghost file) from remap-fpath.img
    var remaps: [UInt32: UInt32] = [:]
    /// remap id -> ghost entry and contents
    var ghosts: [UInt32: (entry: GhostFileEntry, data: [UInt8])] = [:]
    var files: [UInt32: FileEntry] = [:]
    var ttyInfos: [UInt32: TtyInfoEntry] = [:]
    /// memfd inode id -> entry and its data ranges (offset, bytes)
    var memfds: [UInt32: (entry: MemfdInodeEntry, ranges: [(UInt64, [UInt8])])] = [:]
    /// restore --shell-job: our terminal stands in for the task's outside one
    var shellJob = false
    /// tty-info id -> bytes queued for that side to read
    var ttyData: [UInt32: [UInt8]] = [:]
    /// pipe id -> [read end, write end] of a pipe the tree shares (SharedPipe), inherited from the restorer
    var sharedPipes: [UInt32: [Int32]] = [:]
    /// memfd inode id -> the memfd the restorer made for the whole tree (MemfdMapping)
    var sharedMemfds: [UInt32: Int32] = [:]
    /// pidfd file id -> a pidfd of a reaped helper (PidfdFile), inherited from the restorer
    var deadPidfds: [UInt32: Int32] = [:]

    static func read(_ dir: ImageDir, files: [UInt32: FileEntry]) throws -> FileImages {
        var out = FileImages()
        out.files = files
        out.pipeData = try readPipeData(dir, "pipes-data.img", ImageKind.byName("PIPES_DATA")!)
        out.fifoData = try readPipeData(dir, "fifo-data.img", ImageKind.byName("FIFO_DATA")!)
        if dir.exists("tty-info.img") {
            for i in try dir.readAll("tty-info.img", ImageKind.byName("TTY_INFO")!, as: TtyInfoEntry.self) { out.ttyInfos[i.id] = i }
        }
        if dir.exists("tty-data.img") {
            for d in try dir.readAll("tty-data.img", ImageKind.byName("TTY_DATA")!, as: TtyDataEntry.self) {
                out.ttyData[d.ttyID, default: []] += [UInt8](d.data)
            }
        }
        if dir.exists("memfd.img") {
            for i in try dir.readAll("memfd.img", ImageKind.byName("MEMFD_INODE")!, as: MemfdInodeEntry.self) {
                out.memfds[UInt32(truncatingIfNeeded: i.inodeID)] = (i, try readShmem(dir, shmid: i.shmid))
            }
        }
        if dir.exists("remap-fpath.img") {
            for r in try dir.readAll("remap-fpath.img", ImageKind.byName("REMAP_FPATH")!, as: RemapFilePathEntry.self) {
                guard r.remapType == RemapType.ghost else {
                    throw EngineError("check images", path: dir.file("remap-fpath.img"),
                                      reason: "remap of file \(r.origID) is \(r.remapType), only ghost files are supported")
                }
                out.remaps[r.origID] = r.remapID
                let name = "ghost-file-\(String(r.remapID, radix: 16)).img"
                let reader = try dir.reader(name, ImageKind.byName("GHOST_FILE")!)
                do {
                    guard let g = try reader.next(GhostFileEntry.self) else {
                        throw EngineError("check images", path: dir.file(name), reason: "no ghost file entry")
                    }
                    guard !g.chunks else {
                        throw EngineError("check images", path: dir.file(name), reason: "chunked ghost files are not supported")
                    }
                    let data = try reader.readToEnd(what: "ghost file contents")
                    if g.hasSize && UInt64(data.count) != g.size {
                        throw EngineError("check images", path: dir.file(name), reason: "holds \(data.count) bytes, entry says \(g.size)")
                    }
                    out.ghosts[r.remapID] = (g, data)
                } catch { throw EngineError.wrap(error, "read image \(name)") }
            }
        }
        return out
    }

    /// pagemap-shmem-ID.img and its pages file: (offset, bytes) per present run.
    private static func readShmem(_ dir: ImageDir, shmid: UInt32) throws -> [(UInt64, [UInt8])] {
        let name = "pagemap-shmem-\(shmid).img"
        guard dir.exists(name) else { return [] }
        let r = try dir.reader(name, ImageKind.pagemap)
        var runs: [(UInt64, UInt64)] = []
        let pagesId: UInt32
        do {
            guard let head = try r.next(PagemapHead.self) else {
                throw EngineError("read images", path: dir.file(name), reason: "no pagemap head")
            }
            pagesId = head.pagesID
            while let e = try r.next(PagemapEntry.self) { runs.append((e.vaddr, ImageSet.pages(e) * 4096)) }
        } catch { throw EngineError.wrap(error, "read image \(name)") }
        let pagesPath = dir.file("pages-\(pagesId).img")
        let fd = csys_open(pagesPath, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("read images", path: pagesPath, errno: .init(rawValue: errno)) }
        defer { close(fd) }
        var out: [(UInt64, [UInt8])] = []
        var at: off_t = 0
        for (vaddr, len) in runs {
            var buf = [UInt8](repeating: 0, count: Int(len))
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, at) }
            guard n == Int(len) else { throw EngineError("read images", path: pagesPath, reason: "short pages file") }
            out.append((vaddr, buf))
            at += off_t(len)
        }
        return out
    }

    private static func readPipeData(_ dir: ImageDir, _ name: String, _ kind: ImageKind) throws -> [UInt32: (size: UInt32, data: [UInt8])] {
        guard dir.exists(name) else { return [:] }
        var out: [UInt32: (size: UInt32, data: [UInt8])] = [:]
        let r = try dir.reader(name, kind)
        do {
            while let e = try r.next(PipeDataEntry.self) {
                out[e.pipeID] = (e.hasSize ? e.size : 0, try r.readPayload(UInt64(e.bytes), what: "pipe \(e.pipeID) data"))
            }
        } catch { throw EngineError.wrap(error, "read image \(name)") }
        return out
    }
}

/// What file kinds share while the restored task's fds are opened (in the forked child): the images,
/// objects made for one entry that another entry needs (the other end of a pipe), and work that can
/// only run once every fd is at its number (epoll targets, unlinking ghost files).
final class FileRestoreContext {
    let images: FileImages
    /// Keeps an fd open until its own entry is reached, at a number that no target uses.
    let park: (Int32) throws -> Int32
    /// pipe id -> the end not handed out yet (read end at 0, write end at 1), parked.
    var pipeEnds: [UInt32: [Int32]] = [:]
    /// "pipeId:end" -> files on that end still to be made
    var pipeUsers: [String: Int] = [:]
    /// Keys of one-time work already done (fifo data filled, ...).
    var done: Set<String> = []
    /// dumped pty index -> (new master, parked; new index)
    var ptys: [UInt32: (master: Int32, index: UInt32)] = [:]
    /// Objects made once and reopened per entry (memfd inodes), parked.
    var objects: [String: Int32] = [:]
    /// Paths made for the restore (ghost files) by key.
    var paths: [String: String] = [:]
    /// Run in order once every fd is at its number; given file id -> one fd number holding it.
    var finishers: [(_ fdOf: [UInt32: Int32]) throws -> Void] = []

    init(images: FileImages, park: @escaping (Int32) throws -> Int32) {
        self.images = images
        self.park = park
    }
}
