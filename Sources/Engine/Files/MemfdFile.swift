import Glibc
import CSys
import Images

/// memfd file descriptors (not their mappings): one memfd.img entry per inode (name, size, seals,
/// owner) and the contents as a shmem pagemap, `pagemap-shmem-ID.img` + `pages-N.img`, data ranges
/// only (holes stay holes). Every open file on the same memfd gets its own entry pointing at the inode.
enum MemfdFile: FileKind {
    static let type = FdTypes.memfd
    static let name = "memfd"
    static let prefix = "/memfd:"
    /// Pages images of memfds are numbered from here; the task's own pages are pages-1.img.
    static let firstPagesId: UInt32 = 0x100

    static func matches(_ fd: OpenFd) -> Bool {
        guard case .path(let p, _) = fd.target else { return false }
        return p.hasPrefix(prefix) && fd.fileType == S_IFREG
    }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        guard case .path(let p, _) = fd.target else { throw EngineError("dump", pid: fd.pid, fd: fd.fd, reason: "not a path") }
        let st = fd.stat
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        let inodeId = try inode(name: String(p.dropFirst(prefix.count)), stat: st, source: "/proc/\(fd.pid)/fd/\(fd.fd)",
                                pid: fd.pid, fd: fd.fd, context: context)
        var m = MemfdFileEntry()
        m.id = context.newId()
        m.flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        m.pos = fd.info.pos
        m.inodeID = inodeId
        m.fown = try FileOwner.dump(local, fd: fd)
        var f = FileEntry()
        f.type = .memfd
        f.id = m.id
        f.memfd = m
        context.add(f)
        return m.id
    }

    /// The memfd inode's id in memfd.img, written once per inode with its contents (read through a new
    /// open of `source`: SEEK_DATA on the task's own description would move its offset). Fds and
    /// mappings of one memfd share it.
    static func inode(name: String, stat st: stat, source: String, pid: Int32, fd: Int32?, context: FileDumpContext) throws -> UInt32 {
        let key = "memfd:\(st.st_dev):\(st.st_ino)"
        if let id = context.ids[key] { return id }
        let own = csys_open(source, O_RDONLY | O_CLOEXEC, 0)
        guard own >= 0 else { throw EngineError("open memfd", pid: pid, fd: fd, path: source, errno: .init(rawValue: errno)) }
        defer { close(own) }
        let inodeId = context.newId()
        context.ids[key] = inodeId
        var i = MemfdInodeEntry()
        i.name = name
        i.uid = st.st_uid
        i.gid = st.st_gid
        i.size = UInt64(st.st_size)
        i.shmid = inodeId
        i.inodeID = UInt64(inodeId)
        i.mode = st.st_mode
        let seals = csys_fcntl(own, CSYS_F_GET_SEALS, 0)
        i.seals = seals > 0 ? UInt32(seals) : 0
        try context.addImage("memfd.img", ImageKind.byName("MEMFD_INODE")!, i)
        try dumpContents(own, shmid: inodeId, size: UInt64(st.st_size), context: context, pid: pid, fd: fd)
        return inodeId
    }

    private static func dumpContents(_ local: Int32, shmid: UInt32, size: UInt64, context: FileDumpContext, pid: Int32, fd: Int32?) throws {
        let page = UInt64(4096)
        let pagesId = firstPagesId + shmid
        var head = PagemapHead()
        head.pagesID = pagesId
        let pagemapName = "pagemap-shmem-\(shmid).img"
        try context.addImage(pagemapName, ImageKind.pagemap, head)
        var pages: [UInt8] = []
        var off: off_t = 0
        while UInt64(off) < size {
            let data = lseek(local, off, CSYS_SEEK_DATA)
            if data < 0 { break }
            let hole = lseek(local, data, CSYS_SEEK_HOLE)
            let start = UInt64(data) / page * page
            let end = Swift.min((UInt64(Swift.max(hole, data)) + page - 1) / page * page, (size + page - 1) / page * page)
            guard end > start else { break }
            var buf = [UInt8](repeating: 0, count: Int(end - start))
            let n = buf.withUnsafeMutableBytes { pread(local, $0.baseAddress, $0.count, off_t(start)) }
            guard n >= 0 else { throw EngineError("read memfd", pid: pid, fd: fd, errno: .init(rawValue: errno)) }
            var pe = PagemapEntry()
            pe.vaddr = start
            pe.compatNrPages = UInt32((end - start) / page)
            pe.flags = PagemapFlags.present
            try context.addImage(pagemapName, ImageKind.pagemap, pe)
            pages += buf
            off = off_t(end)
        }
        try context.addRaw("pages-\(pagesId).img", pages)
    }

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let m = f.memfd
        guard let inode = context.images.memfds[m.inodeID] else {
            throw EngineError("restore memfd", reason: "memfd.img has no inode \(m.inodeID)")
        }
        let key = "memfd:\(m.inodeID)"
        if context.objects[key] == nil, let made = context.images.sharedMemfds[m.inodeID] { context.objects[key] = made }
        if context.objects[key] == nil { context.objects[key] = try context.park(try create(inode.entry, ranges: inode.ranges)) }
        // Each open file gets its own description with its own mode and offset.
        let accmode = Int32(bitPattern: m.flags) & O_ACCMODE
        let fd = csys_open("/proc/self/fd/\(context.objects[key]!)", accmode | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("reopen memfd \(inode.entry.name)", errno: .init(rawValue: errno)) }
        if m.pos != 0 { _ = lseek(fd, off_t(m.pos), SEEK_SET) }
        try FileOwner.restore(fd, m.fown, flags: m.flags)
        return fd
    }

    /// A new memfd with the saved name, size, contents, owner, mode and seals.
    static func create(_ e: MemfdInodeEntry, ranges: [(UInt64, [UInt8])]) throws -> Int32 {
        let fd = csys_sys_memfd_create(e.name, CSYS_MFD_CLOEXEC | CSYS_MFD_ALLOW_SEALING)
        guard fd >= 0 else { throw EngineError("memfd_create \(e.name)", errno: .init(rawValue: errno)) }
        do {
            guard ftruncate(fd, off_t(e.size)) == 0 else { throw EngineError("size memfd \(e.name)", errno: .init(rawValue: errno)) }
            for (offset, bytes) in ranges {
                let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
                guard n == bytes.count else { throw EngineError("fill memfd \(e.name)", errno: .init(rawValue: errno)) }
            }
            // The pages may run past the size at its last page: cut them back.
            _ = ftruncate(fd, off_t(e.size))
            _ = fchown(fd, e.uid, e.gid)
            if e.hasMode { _ = fchmod(fd, e.mode & 0o7777) }
            if e.seals != 0 && csys_fcntl(fd, CSYS_F_ADD_SEALS, Int(e.seals)) < 0 {
                throw EngineError("seal memfd \(e.name)", errno: .init(rawValue: errno))
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}
