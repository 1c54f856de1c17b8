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
        case S_IFCHR, S_IFBLK: return !FileKinds.describe(fd).hasPrefix("terminal")
        default: return false
        }
    }

    static func entry(id: UInt32, path: String, flags: UInt32, pos: UInt64, stat st: stat, mntId: Int32?) -> FileEntry {
        var r = RegFileEntry()
        r.id = id
        r.flags = flags
        r.pos = pos
        r.fown = FileKinds.noOwner
        r.name = path
        if let mntId { r.mntID = mntId }
        r.mode = st.st_mode
        if st.st_mode & S_IFMT == S_IFREG { r.size = UInt64(st.st_size) }
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
                      stat: fd.stat, mntId: fd.info.mntId)
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
        let r = e.reg
        var st = stat()
        guard csys_stat(r.name, &st) == 0 else {
            throw EngineError("open file", path: r.name, errno: .init(rawValue: errno))
        }
        if r.hasMode && st.st_mode & S_IFMT != r.mode & S_IFMT {
            throw EngineError("open file", path: r.name, reason: "its type changed since the dump")
        }
        if r.hasSize && st.st_mode & S_IFMT == S_IFREG && UInt64(st.st_size) != r.size {
            throw EngineError("open file", path: r.name,
                              reason: "its size changed since the dump (\(r.size) then, \(st.st_size) now)")
        }
        let flags = Int32(bitPattern: r.flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC)
        let fd = csys_open(r.name, flags, 0)
        guard fd >= 0 else { throw EngineError("open file", path: r.name, errno: .init(rawValue: errno)) }
        if r.pos != 0 {
            // Devices and directories may refuse to seek; only a regular file's position must come back.
            if lseek(fd, off_t(r.pos), SEEK_SET) < 0 && st.st_mode & S_IFMT == S_IFREG {
                let e = errno
                close(fd)
                throw EngineError("seek in file", path: r.name, errno: .init(rawValue: e))
            }
        }
        if r.fown.pid != 0 || r.fown.signum != 0 {
            do { try FileOwner.restore(fd, r.fown, flags: r.flags) } catch { close(fd); throw error }
        }
        return fd
    }
}
