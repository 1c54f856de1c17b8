import Glibc
import CSys
import Images

/// Named pipes. The path is a regular file entry (regf_id) and the queued bytes go once per FIFO to
/// fifo-data.img. Opening a FIFO blocks until the other side exists, so restore first opens it
/// read-write (never blocks, and keeps a reader and a writer while the data goes in), then opens the
/// wanted mode non-blocking and puts the real flags back.
enum FifoFile: FileKind {
    static let type = FdTypes.fifo
    static let name = "fifo"
    static let dataImage = "fifo-data.img"

    static func matches(_ fd: OpenFd) -> Bool {
        guard case .path(let p, let deleted) = fd.target, !deleted, p.hasPrefix("/") else { return false }
        return fd.fileType == S_IFIFO
    }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        guard case .path(let path, _) = fd.target else { throw EngineError("dump", pid: fd.pid, fd: fd.fd, reason: "not a path") }
        let pipeId = UInt32(truncatingIfNeeded: fd.stat.st_ino)
        let flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var reg = RegularFile.entry(id: context.newId(), path: path, flags: flags, pos: 0, stat: fd.stat, mntId: fd.info.mntId)
        reg.reg.fown = try FileOwner.dump(local, fd: fd)
        context.add(reg)
        if context.seen.insert("fifo:\(fd.stat.st_dev):\(fd.stat.st_ino)").inserted {
            let (size, data) = try PipeData.peek(pid: fd.pid, fd: fd.fd)
            try context.addImage(dataImage, ImageKind.byName("FIFO_DATA")!,
                                 PipeData.entry(pipeId: pipeId, size: size, bytes: data.count), payload: data)
        }
        var fi = FifoEntry()
        fi.id = context.newId()
        fi.pipeID = pipeId
        fi.regfID = reg.id
        var f = FileEntry()
        f.type = .fifo
        f.id = fi.id
        f.fifo = fi
        context.add(f)
        return fi.id
    }

    static func open(_ e: FileEntry, context: FileRestoreContext) throws -> Int32 {
        guard let reg = context.images.files[e.fifo.regfID], reg.hasReg else {
            throw EngineError("restore fifo", reason: "its path entry \(e.fifo.regfID) is missing from files.img")
        }
        let r = reg.reg
        var st = stat()
        guard csys_stat(r.name, &st) == 0 else { throw EngineError("open fifo", path: r.name, errno: .init(rawValue: errno)) }
        guard st.st_mode & S_IFMT == S_IFIFO else { throw EngineError("open fifo", path: r.name, reason: "no longer a FIFO") }
        let helper = csys_open(r.name, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0)
        guard helper >= 0 else { throw EngineError("open fifo read-write", path: r.name, errno: .init(rawValue: errno)) }
        defer { close(helper) }
        // Several tasks may hold the FIFO: only its file with the lowest id puts the data in, once.
        let first = context.images.files.values.filter { $0.type == .fifo && $0.fifo.pipeID == e.fifo.pipeID }.map(\.id).min()
        if first == e.id, let d = context.images.fifoData[e.fifo.pipeID] {
            try PipeData.fill(helper, size: d.size, data: d.data, what: "fifo \(r.name)")
        }
        let flags = Int32(bitPattern: r.flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC)
        let fd = csys_open(r.name, flags | O_NONBLOCK | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open fifo", path: r.name, errno: .init(rawValue: errno)) }
        try FileOwner.restore(fd, r.fown, flags: r.flags)
        return fd
    }
}
