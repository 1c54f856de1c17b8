import Glibc
import CSys
import Images

/// A file whose name the task opened it by was removed while other hard links remain (st_nlink > 0).
/// Its contents must not be copied (a ghost copy would be a new inode: writes would no longer reach the
/// other names). Instead:
/// - another name of the inode in the same directory is recorded (`other_link`, our field: CRIU would
///   refuse such a file without --link-remap), else
/// - with --link-remap, a hard link `link_remap.ID` is made at dump in the old directory (or the
///   nearest one that still exists) and recorded as a LINKED remap, as CRIU does; it is removed once
///   the whole tree is restored;
/// - without it, the dump fails and says to use --link-remap.
/// Either way restore links the file back under its old name for the open and removes that name
/// again, so the fd reads "NAME (deleted)" as it did.
enum LinkRemap {
    /// Links made by the running dump, removed again if it fails (the engine is single-threaded).
    nonisolated(unsafe) private static var made: [String] = []

    static func dump(_ fd: OpenFd, path: String, context: FileDumpContext) throws -> UInt32 {
        let id = context.newId()
        let flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        let other = otherName(of: fd.stat, besides: path)
        var e = RegularFile.entry(id: id, path: path, flags: flags, pos: fd.info.pos, stat: fd.stat,
                                  mntId: fd.info.mntId, buildId: false)
        if let other { e.reg.otherLink = other }
        if fd.info.flags & UInt32(CSYS_O_ASYNC) != 0 {
            let local = try context.takeFd(fd.fd)
            defer { close(local) }
            e.reg.fown = try FileOwner.dump(local, fd: fd)
        }
        context.add(e)
        if other != nil { return id }
        guard context.options.linkRemap else {
            throw EngineError("dump", pid: fd.pid, fd: fd.fd, path: path,
                              reason: "file was deleted but still has \(fd.stat.st_nlink) link(s) elsewhere; use --link-remap")
        }
        let key = "linkremap:\(fd.stat.st_dev):\(fd.stat.st_ino)"
        let linkId: UInt32
        if let have = context.ids[key] {
            linkId = have
        } else {
            linkId = context.newId()
            let link = try makeLink(pid: fd.pid, fd: fd.fd, path: path, id: linkId)
            context.ids[key] = linkId
            var l = RegularFile.entry(id: linkId, path: link, flags: 0, pos: 0, stat: fd.stat, mntId: fd.info.mntId,
                                      buildId: false)
            l.reg.clearSize()
            l.reg.clearMtimeNs()
            context.add(l)
        }
        var r = RemapFilePathEntry()
        r.origID = id
        r.remapID = linkId
        r.remapType = .linked
        try context.addImage("remap-fpath.img", ImageKind.byName("REMAP_FPATH")!, r)
        return id
    }

    /// Forgets the links of a dump that succeeded: restore needs them.
    static func keep() { made = [] }

    /// Removes the links a failed dump made.
    static func rollBack() {
        for p in made { unlink(p) }
        made = []
    }

    /// Another name of the same inode in the directory `path` was in.
    private static func otherName(of st: stat, besides path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let dir = slash == path.startIndex ? "/" : String(path[..<slash])
        guard let d = opendir(dir) else { return nil }
        defer { closedir(d) }
        while let ent = readdir(d) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard ent.pointee.d_ino == st.st_ino, name != ".", name != ".." else { continue }
            let full = dir == "/" ? "/\(name)" : "\(dir)/\(name)"
            var cur = stat()
            if lstat(full, &cur) == 0 && cur.st_dev == st.st_dev && cur.st_ino == st.st_ino { return full }
        }
        return nil
    }

    /// link_remap.ID beside the old name, or in the nearest directory above it that still exists.
    private static func makeLink(pid: Int32, fd: Int32, path: String, id: UInt32) throws -> String {
        var dir = path
        while let slash = dir.lastIndex(of: "/") {
            dir = String(dir[..<slash])
            let link = "\(dir)/link_remap.\(id)"
            // Through the task's root: a link across two mounts of one filesystem (the task's mount
            // namespace and ours) fails with EXDEV.
            if linkat(AT_FDCWD, "/proc/\(pid)/fd/\(fd)", AT_FDCWD, "/proc/\(pid)/root" + link, AT_SYMLINK_FOLLOW) == 0 {
                made.append(link)
                return link
            }
            guard errno == ENOENT else {
                throw EngineError("dump", pid: pid, fd: fd, path: link, errno: .init(rawValue: errno),
                                  reason: "can't make a link-remap for the deleted file")
            }
            if dir.isEmpty { break }
        }
        throw EngineError("dump", pid: pid, fd: fd, path: path, reason: "no directory above the deleted file exists for a link-remap")
    }

    /// Opens the file through its link-remap or other link, with the original entry's flags and position.
    static func open(_ e: FileEntry, link: UInt32?, context: FileRestoreContext) throws -> Int32 {
        let source: String
        if let link {
            guard let l = context.images.files[link], l.hasReg else {
                throw EngineError("restore file", path: e.reg.name, reason: "its link-remap (file \(link)) is missing from files.img")
            }
            source = l.reg.name
        } else {
            source = e.reg.otherLink
        }
        var st = stat()
        guard csys_stat(source, &st) == 0 else {
            throw EngineError("open deleted file through its other link", path: source, errno: .init(rawValue: errno))
        }
        var r = e.reg
        r.name = source
        try RegularFileCheck.verify(r, stat: st)
        // Back under its old name for the open (the fd then names it), which is removed right away.
        try TempPaths.makeParents(e.reg.name, context: context)
        guard Glibc.link(source, e.reg.name) == 0 else {
            let err = errno
            TempPaths.sweep(context)
            throw EngineError("link deleted file back for its open", path: e.reg.name, errno: .init(rawValue: err))
        }
        let fd: Int32
        do { fd = try RegularFile.open(path: e.reg.name, e.reg, stat: st) } catch {
            unlink(e.reg.name)
            TempPaths.sweep(context)
            throw error
        }
        unlink(e.reg.name)
        TempPaths.sweep(context)
        return fd
    }

    /// Removes the link-remaps once every task of the tree holds its files.
    static func cleanUp(_ fileImages: [FileImages]) {
        var done: Set<UInt32> = []
        for fi in fileImages {
            for link in fi.linkRemaps.values where done.insert(link).inserted {
                if let name = fi.files[link]?.reg.name { unlink(name) }
            }
        }
    }
}
