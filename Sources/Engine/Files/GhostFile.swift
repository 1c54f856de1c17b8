import Glibc
import CSys
import Images

/// Files open after their last name was removed ("ghost" files). Their contents (up to --ghost-limit)
/// go to ghost-file-ID.img and remap-fpath.img ties the file entry to it, as CRIU does. Restore writes
/// the contents to a new file beside the old path, opens it for every entry that uses it, and unlinks it
/// once all fds are in place: the task again holds an open file that no name leads to.
enum GhostFile: FileKind {
    /// A ghost file is a regular file entry with a remap; RegularFile.open hands it over here.
    static let type = FdTypes.reg
    static let name = "deleted file"

    static func matches(_ fd: OpenFd) -> Bool {
        guard case .path(let p, let deleted) = fd.target, deleted, p.hasPrefix("/"), !p.hasPrefix(MemfdFile.prefix) else { return false }
        return fd.fileType == S_IFREG || fd.fileType == S_IFDIR
    }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        guard case .path(let path, _) = fd.target else { throw EngineError("dump", pid: fd.pid, fd: fd.fd, reason: "not a path") }
        let st = fd.stat
        // Still linked under another name: that name (or a link made for the dump) stands in for it.
        if st.st_nlink > 0 && fd.fileType == S_IFREG { return try LinkRemap.dump(fd, path: path, context: context) }
        let key = "ghost:\(st.st_dev):\(st.st_ino)"
        let id = context.newId()
        var e = RegularFile.entry(id: id, path: path, flags: fd.info.flags & ~UInt32(O_CLOEXEC), pos: fd.info.pos,
                                  stat: st, mntId: fd.info.mntId)
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        e.reg.fown = try FileOwner.dump(local, fd: fd)
        context.add(e)
        let remapId: UInt32
        if let r = context.ids[key] {
            remapId = r
        } else {
            guard UInt64(st.st_size) <= context.options.ghostLimit else {
                throw EngineError("dump", pid: fd.pid, fd: fd.fd, path: path,
                                  reason: "deleted file is \(st.st_size) bytes, over the ghost limit of \(context.options.ghostLimit) (--ghost-limit)")
            }
            remapId = context.newId()
            context.ids[key] = remapId
            var g = GhostFileEntry()
            g.uid = st.st_uid
            g.gid = st.st_gid
            g.mode = st.st_mode
            g.dev = UInt32(truncatingIfNeeded: st.st_dev)
            g.ino = UInt64(st.st_ino)
            var at = Timeval(), mt = Timeval()
            at.tvSec = UInt64(st.st_atim.tv_sec); at.tvUsec = UInt64(st.st_atim.tv_nsec / 1000)
            mt.tvSec = UInt64(st.st_mtim.tv_sec); mt.tvUsec = UInt64(st.st_mtim.tv_nsec / 1000)
            g.atim = at
            g.mtim = mt
            var chunks: [(off: UInt64, data: [UInt8])] = []
            if fd.fileType == S_IFREG {
                g.size = UInt64(st.st_size)
                chunks = try contents(pid: fd.pid, fd: fd.fd, size: g.size)
            }
            try GhostContents(entry: g, chunks: chunks).write(name: "ghost-file-\(String(remapId, radix: 16)).img", context: context)
        }
        var r = RemapFilePathEntry()
        r.origID = id
        r.remapID = remapId
        r.remapType = .ghost
        try context.addImage("remap-fpath.img", ImageKind.byName("REMAP_FPATH")!, r)
        return id
    }

    /// Reads the file's data ranges through a new open of /proc/PID/fd/N (its own offset, the task's
    /// stays put); holes are skipped when the filesystem reports them.
    static func contents(pid: Int32, fd: Int32, size: UInt64) throws -> [(off: UInt64, data: [UInt8])] {
        let src = csys_open("/proc/\(pid)/fd/\(fd)", O_RDONLY | O_CLOEXEC, 0)
        guard src >= 0 else { throw EngineError("open deleted file", pid: pid, fd: fd, errno: .init(rawValue: errno)) }
        defer { close(src) }
        let ranges = GhostContents.dataRanges(src, size: size) ?? [(0, size)]
        return try GhostContents.readChunks(src, ranges: ranges, pid: pid, fd: fd)
    }

    static func open(_ e: FileEntry, context: FileRestoreContext) throws -> Int32 {
        guard let remap = context.images.remaps[e.id] else { return try RegularFile.open(e, context: context) }
        guard let ghost = context.images.ghosts[remap] else {
            throw EngineError("restore deleted file", path: e.reg.name, reason: "ghost file \(remap) is missing")
        }
        let r = e.reg
        let key = "ghost:\(remap)"
        if let made = context.images.ghostPaths[remap] {
            context.paths[key] = made
        } else if context.done.insert(key).inserted {
            let tmp = try materialize(r.name, remap: remap, ghost, context: context)
            let isDir = ghost.entry.mode & S_IFMT == S_IFDIR
            context.paths[key] = tmp
            context.finishers.append { _ in try remove(tmp, isDir: isDir, context: context) }
        }
        let tmp = context.paths[key]!
        let flags = Int32(bitPattern: r.flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC)
        let fd = csys_open(tmp, flags | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open restored deleted file", path: tmp, errno: .init(rawValue: errno)) }
        if r.pos != 0 && lseek(fd, off_t(r.pos), SEEK_SET) < 0 {
            close(fd)
            throw EngineError("seek in restored deleted file", path: tmp, errno: .init(rawValue: errno))
        }
        try FileOwner.restore(fd, r.fown, flags: r.flags)
        return fd
    }

    /// Makes the file (or directory) standing for ghost `remap`: under its old name when that is free,
    /// so the fd reads as before, else beside it. Missing directories above it are made too.
    static func materialize(_ name: String, remap: UInt32, _ ghost: GhostContents, context: FileRestoreContext) throws -> String {
        try TempPaths.makeParents(name, context: context)
        if ghost.entry.mode & S_IFMT == S_IFDIR && TempPaths.made(name, context: context) {
            // Made above as the parent of another ghost: it is this directory.
            _ = chmod(name, mode_t(ghost.entry.mode & 0o7777))
            _ = chown(name, ghost.entry.uid, ghost.entry.gid)
            return name
        }
        if (try? create(name, ghost)) != nil { return name }
        let tmp = "\(name).cr.\(String(remap, radix: 16)).ghost"
        do { try create(tmp, ghost) } catch { TempPaths.sweep(context); throw error }
        return tmp
    }

    /// Removes a made ghost; a directory waits until the ghosts in it are gone.
    static func remove(_ path: String, isDir: Bool, context: FileRestoreContext) throws {
        if isDir {
            TempPaths.removeLater(path, context: context)
        } else if unlink(path) < 0 && errno != ENOENT {
            throw EngineError("remove restored deleted file", path: path, errno: .init(rawValue: errno))
        }
        TempPaths.sweep(context)
    }

    /// The tree's ghost files, made once by the restorer before any task is forked: tasks that opened
    /// one deleted file each on their own then share its new inode too. Removed (`cleanUp`) once every
    /// task holds its fds, before any of them runs, and on failure.
    final class Prepared {
        let context = FileRestoreContext(images: FileImages()) { $0 }
        var paths: [UInt32: String] = [:]
        var dirs: Set<String> = []

        func cleanUp() {
            for p in paths.values { try? GhostFile.remove(p, isDir: dirs.contains(p), context: context) }
            paths = [:]
            TempPaths.sweep(context)
        }
    }

    static func prepare(_ images: [FileImages]) throws -> Prepared {
        let out = Prepared()
        do {
            for fi in images {
                for (fileId, remap) in fi.remaps.sorted(by: { $0.key < $1.key }) where out.paths[remap] == nil {
                    guard let ghost = fi.ghosts[remap], let name = fi.files[fileId]?.reg.name else { continue }
                    let p = try materialize(name, remap: remap, ghost, context: out.context)
                    out.paths[remap] = p
                    if ghost.entry.mode & S_IFMT == S_IFDIR { out.dirs.insert(p) }
                }
            }
        } catch {
            out.cleanUp()
            throw error
        }
        return out
    }

    private static func create(_ path: String, _ ghost: GhostContents) throws {
        let g = ghost.entry
        if g.mode & S_IFMT == S_IFDIR {
            guard mkdir(path, mode_t(g.mode & 0o7777)) == 0 else {
                throw EngineError("make restored deleted directory", path: path, errno: .init(rawValue: errno))
            }
            // mkdir's mode passed through our umask (the task's); the dumped mode is the one wanted.
            _ = chmod(path, mode_t(g.mode & 0o7777))
            _ = chown(path, g.uid, g.gid)
            return
        }
        let fd = csys_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError("create restored deleted file", path: path, errno: .init(rawValue: errno)) }
        defer { close(fd) }
        do { try ghost.fill(fd, path: path) } catch { unlink(path); throw error }
        _ = fchown(fd, g.uid, g.gid)
        guard fchmod(fd, g.mode & 0o7777) == 0 else {
            unlink(path)
            throw EngineError("chmod restored deleted file", path: path, errno: .init(rawValue: errno))
        }
        if g.hasMtim {
            var ts = [timespec(tv_sec: Int(g.atim.tvSec), tv_nsec: Int(g.atim.tvUsec) * 1000),
                      timespec(tv_sec: Int(g.mtim.tvSec), tv_nsec: Int(g.mtim.tvUsec) * 1000)]
            _ = futimens(fd, &ts)
        }
    }
}
