import Glibc
import CSys
import Images

/// Mappings of a memfd, MAP_SHARED or MAP_PRIVATE, with or without an fd still open. The VMA names a
/// memfd file entry (status VMA_AREA_MEMFD plus file shared/private, shmid = file id) whose inode is the
/// one memfd.img entry that fds of the same memfd use, contents saved once. On restore the restorer
/// makes every memfd inode before forking the tree (TreeObjects), so all tasks and all their fds and
/// mappings share one object; each task maps it through its own reopen (/proc/self/fd).
enum MemfdMapping {
    /// The memfd file entry a mapping uses: one per inode and open mode for the whole tree.
    static func register(pid: Int32, vma: VMA, flags: UInt32, context: FileDumpContext) throws -> UInt32 {
        let source = "/proc/\(pid)/map_files/\(vma.mapFilesName)"
        var st = stat()
        guard csys_stat(source, &st) == 0 else {
            throw EngineError("stat mapped memfd at \(hex(vma.start))", pid: pid, path: source, errno: .init(rawValue: errno))
        }
        let name = String((vma.path ?? "").dropFirst(MemfdFile.prefix.count))
        let inodeId = try MemfdFile.inode(name: name, stat: st, source: source, pid: pid, fd: nil, context: context)
        let key = "memfd-map:\(inodeId):\(flags)"
        if let id = context.ids[key] { return id }
        var m = MemfdFileEntry()
        m.id = context.newId()
        m.flags = flags
        m.pos = 0
        m.inodeID = inodeId
        m.fown = FileKinds.noOwner
        var f = FileEntry()
        f.type = .memfd
        f.id = m.id
        f.memfd = m
        context.add(f)
        context.ids[key] = m.id
        return m.id
    }

    /// Every memfd inode of the images, made in the restorer with fds kept high.
    static func createAll(_ memfds: [UInt32: (entry: MemfdInodeEntry, ranges: [(UInt64, [UInt8])])], floor: Int32) throws -> [UInt32: Int32] {
        var out: [UInt32: Int32] = [:]
        do {
            for (id, m) in memfds.sorted(by: { $0.key < $1.key }) {
                let fd = try MemfdFile.create(m.entry, ranges: m.ranges)
                let high = csys_fcntl(fd, F_DUPFD_CLOEXEC, Int(floor))
                close(fd)
                guard high >= 0 else { throw EngineError("move memfd \(m.entry.name) fd", errno: .init(rawValue: errno)) }
                out[id] = high
            }
        } catch {
            out.values.forEach { close($0) }
            throw error
        }
        return out
    }
}
