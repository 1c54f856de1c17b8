import Glibc
import CSys
import Images

/// Regular files, directories and device nodes, opened again by path: /dev/null and friends are files
/// like any other here. The path, flags, position and identity (size, mode) are kept; restore refuses a
/// file whose size or type changed.
enum RegularFile: FileKind {
    static let type = FdTypes.reg
    static let name = "regular file"

    static func matches(_ fd: OpenFd) -> Bool {
        guard case .path(let p, let deleted) = fd.target, !deleted, p.hasPrefix("/") else { return false }
        switch fd.fileType {
        case S_IFREG, S_IFDIR: return true
        // O_PATH|O_NOFOLLOW holds the symlink itself.
        case S_IFLNK: return fd.info.flags & UInt32(CSYS_O_PATH) != 0
        case S_IFCHR, S_IFBLK: return !FileKinds.describe(fd).hasPrefix("terminal")
        default: return false
        }
    }

    /// `buildId`: also record the ELF build-id (files the task maps or executes; fds skip the extra read).
    static func entry(id: UInt32, path: String, flags: UInt32, pos: UInt64, stat st: stat, mntId: Int32?,
                      buildId: Bool = true) -> FileEntry {
        var r = RegFileEntry()
        r.id = id
        r.flags = flags
        r.pos = pos
        r.fown = FileKinds.noOwner
        r.name = path
        if let mntId { r.mntID = mntId }
        r.mode = st.st_mode
        RegularFileCheck.record(&r, stat: st, path: path, buildId: buildId)
        var f = FileEntry()
        f.type = .reg
        f.id = id
        f.reg = r
        return f
    }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        guard case .path(let path, _) = fd.target else { throw EngineError("dump", pid: fd.pid, fd: fd.fd, reason: "not a path") }
        let id = context.newId()
        var e = entry(id: id, path: path, flags: fd.info.flags & ~UInt32(O_CLOEXEC), pos: fd.info.pos,
                      stat: fd.stat, mntId: fd.info.mntId, buildId: false)
        if let key = ExternalFile.key(fd, context: context) {
            e.reg.name = key
            e.reg.ext = true
        }
        if fd.info.flags & UInt32(CSYS_O_ASYNC) != 0 {
            // Only a file that asked for signals has an owner worth the extra pidfd_getfd.
            let local = try context.takeFd(fd.fd)
            defer { close(local) }
            e.reg.fown = try FileOwner.dump(local, fd: fd)
        }
        context.add(e)
        return id
    }

    static func open(_ e: FileEntry, context: FileRestoreContext) throws -> Int32 {
        if context.images.remaps[e.id] != nil { return try GhostFile.open(e, context: context) }
        if let link = context.images.linkRemaps[e.id] { return try LinkRemap.open(e, link: link, context: context) }
        if e.reg.hasOtherLink { return try LinkRemap.open(e, link: nil, context: context) }
        let r = e.reg
        if r.ext { throw EngineError("open file", path: r.name, reason: "it is external: pass --inherit-fd fd[N]:\(r.name)") }
        var st = stat()
        // An O_PATH|O_NOFOLLOW fd names the symlink, not what it points to.
        let nofollow = Int32(bitPattern: r.flags) & (CSYS_O_PATH | O_NOFOLLOW) == CSYS_O_PATH | O_NOFOLLOW
        guard (nofollow ? lstat(r.name, &st) : csys_stat(r.name, &st)) == 0 else {
            throw EngineError("open file", path: r.name, errno: .init(rawValue: errno))
        }
        try RegularFileCheck.verify(r, stat: st)
        return try open(path: r.name, r, stat: st)
    }

    /// Opens `path` with the entry's flags, position and owner (also used for a link-remap or an
    /// inherited fd's /proc/self/fd path).
    static func open(path: String, _ r: RegFileEntry, stat st: stat) throws -> Int32 {
        let flags = Int32(bitPattern: r.flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC)
        let fd = csys_open(path, flags, 0)
        guard fd >= 0 else {
            let e = errno
            let why = e == EINVAL && flags & CSYS_O_DIRECT != 0 ? "the filesystem refuses O_DIRECT here" : nil
            throw EngineError("open file", path: path, errno: .init(rawValue: e), reason: why)
        }
        if r.pos != 0 {
            // Devices and directories may refuse to seek; only a regular file's position must come back.
            if lseek(fd, off_t(r.pos), SEEK_SET) < 0 && st.st_mode & S_IFMT == S_IFREG {
                let e = errno
                close(fd)
                throw EngineError("seek in file", path: path, errno: .init(rawValue: e))
            }
        }
        if r.fown.pid != 0 || r.fown.signum != 0 {
            do { try FileOwner.restore(fd, r.fown, flags: r.flags) } catch { close(fd); throw error }
        }
        return fd
    }
}
