import Glibc
import CSys
import Images

/// Anonymous pipes. Each end is its own file entry; both name the pipe by its inode (pipe_id), and the
/// queued bytes go once per pipe to pipes-data.img. Restore makes the pipe when the first end is asked
/// for and keeps the other end parked until its entry comes.
enum PipeFile: FileKind {
    static let type = FdTypes.pipe
    static let name = "pipe"
    static let dataImage = "pipes-data.img"

    static func matches(_ fd: OpenFd) -> Bool {
        if case .pipe = fd.target { return true }
        return false
    }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        guard case .pipe(let ino) = fd.target else { throw EngineError("dump", pid: fd.pid, fd: fd.fd, reason: "not a pipe") }
        let pipeId = UInt32(truncatingIfNeeded: ino)
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var p = PipeEntry()
        p.id = context.newId()
        p.pipeID = pipeId
        p.flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        p.fown = try FileOwner.dump(local, fd: fd)
        if context.seen.insert("pipe:\(ino)").inserted {
            let (size, data) = try PipeData.peek(pid: fd.pid, fd: fd.fd)
            try context.addImage(dataImage, ImageKind.byName("PIPES_DATA")!,
                                 PipeData.entry(pipeId: pipeId, size: size, bytes: data.count), payload: data)
        }
        var f = FileEntry()
        f.type = .pipe
        f.id = p.id
        f.pipe = p
        context.add(f)
        return p.id
    }

    static func open(_ e: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let p = e.pipe
        let end = Int32(bitPattern: p.flags) & O_ACCMODE == O_WRONLY ? 1 : 0
        if context.pipeEnds[p.pipeID] == nil {
            var fds: [Int32] = [-1, -1]
            guard csys_sys_pipe2(&fds, O_CLOEXEC) == 0 else { throw EngineError("pipe2 for pipe \(p.pipeID)", errno: .init(rawValue: errno)) }
            if let d = context.images.pipeData[p.pipeID] {
                try PipeData.fill(fds[1], size: d.size, data: d.data, what: "pipe \(p.pipeID)")
            }
            context.pipeEnds[p.pipeID] = [try context.park(fds[0]), try context.park(fds[1])]
        }
        let fd = context.pipeEnds[p.pipeID]![end]
        guard fd >= 0 else {
            throw EngineError("restore pipe \(p.pipeID)", reason: "two open files on the same pipe end are not supported")
        }
        context.pipeEnds[p.pipeID]![end] = -1
        try FileOwner.restore(fd, p.fown, flags: p.flags)
        return fd
    }
}
