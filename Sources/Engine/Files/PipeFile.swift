import Glibc
import CSys
import Images

/// Anonymous pipes. Each end is its own file entry; both name the pipe by its inode (pipe_id), and the
/// queued bytes go once per pipe to pipes-data.img. Restore makes the pipe when the first end is asked
/// for and keeps both ends parked until the
/// child cleans up; another open file on the same end (a /proc/PID/fd reopen) gets its own description.
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
        if let ends = context.images.sharedPipes[e.pipe.pipeID] { return try SharedPipe.open(e, ends: ends, context: context) }
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
        // A parked end stays open until its last file is made. The first file on an end shares the
        // parked description; another file on the same end (a /proc/PID/fd reopen) gets its own.
        let parked = context.pipeEnds[p.pipeID]![end]
        guard parked >= 0 else { throw EngineError("restore pipe \(p.pipeID)", reason: "end \(end) was already closed") }
        let fd: Int32
        if context.done.insert("pipe:\(p.pipeID):\(end)").inserted {
            fd = csys_fcntl(parked, F_DUPFD_CLOEXEC, 0)
        } else {
            fd = csys_open("/proc/self/fd/\(parked)", (end == 1 ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC, 0)
        }
        guard fd >= 0 else { throw EngineError("open end \(end) of pipe \(p.pipeID)", errno: .init(rawValue: errno)) }
        let key = "\(p.pipeID):\(end)"
        if context.done.insert("pipe-users").inserted { countUsers(context) }
        context.pipeUsers[key, default: 1] -= 1
        if context.pipeUsers[key] == 0 {
            close(parked)
            context.pipeEnds[p.pipeID]![end] = -1
        }
        try FileOwner.restore(fd, p.fown, flags: p.flags)
        return fd
    }

    /// How many files of the images are on each end of each pipe, counted once per restore.
    private static func countUsers(_ context: FileRestoreContext) {
        for f in context.images.files.values where f.type == .pipe {
            let end = Int32(bitPattern: f.pipe.flags) & O_ACCMODE == O_WRONLY ? 1 : 0
            context.pipeUsers["\(f.pipe.pipeID):\(end)", default: 0] += 1
        }
    }
}
