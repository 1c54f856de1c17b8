import Glibc
import CSys
import Images

/// The bytes queued in a pipe or FIFO, read without taking them out: tee(2) duplicates the buffers
/// into a pipe of ours, so the task still finds its data after a dump with --leave-running.
enum PipeData {
    /// (capacity, queued bytes) of the pipe behind the task's fd.
    static func peek(pid: Int32, fd: Int32) throws -> (size: UInt32, data: [UInt8]) {
        // A new read-only open of the same pipe inode; O_NONBLOCK so a FIFO without writers does not block.
        let path = "/proc/\(pid)/fd/\(fd)"
        let src = csys_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0)
        guard src >= 0 else { throw EngineError("open pipe to read its data", pid: pid, fd: fd, errno: .init(rawValue: errno)) }
        defer { close(src) }
        let size = csys_fcntl(src, CSYS_F_GETPIPE_SZ, 0)
        guard size > 0 else { throw EngineError("F_GETPIPE_SZ", pid: pid, fd: fd, errno: .init(rawValue: errno)) }
        var p: [Int32] = [-1, -1]
        guard csys_sys_pipe2(&p, O_CLOEXEC | O_NONBLOCK) == 0 else { throw EngineError("pipe2", errno: .init(rawValue: errno)) }
        defer { close(p[0]); close(p[1]) }
        if csys_fcntl(p[1], CSYS_F_SETPIPE_SZ, Int(size)) < 0 {
            throw EngineError("size a pipe to \(size) bytes to copy pipe data", pid: pid, fd: fd, errno: .init(rawValue: errno))
        }
        let n = csys_sys_tee(src, p[1], Int(size), UInt32(CSYS_SPLICE_F_NONBLOCK))
        if n < 0 {
            if errno == EAGAIN { return (UInt32(size), []) }
            throw EngineError("tee pipe data", pid: pid, fd: fd, errno: .init(rawValue: errno))
        }
        var data = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = data.withUnsafeMutableBytes { read(p[0], $0.baseAddress! + got, n - got) }
            guard r > 0 else { throw EngineError("read copied pipe data", pid: pid, fd: fd, errno: .init(rawValue: errno)) }
            got += r
        }
        return (UInt32(size), data)
    }

    static func entry(pipeId: UInt32, size: UInt32, bytes: Int) -> PipeDataEntry {
        var e = PipeDataEntry()
        e.pipeID = pipeId
        e.bytes = UInt32(bytes)
        e.size = size
        return e
    }

    /// Sizes a fresh pipe (write end `w`) and writes the saved bytes into it.
    static func fill(_ w: Int32, size: UInt32, data: [UInt8], what: String) throws {
        if size != 0 && csys_fcntl(w, CSYS_F_GETPIPE_SZ, 0) != Int32(size) {
            if csys_fcntl(w, CSYS_F_SETPIPE_SZ, Int(size)) < 0 {
                throw EngineError("F_SETPIPE_SZ \(size) on \(what)", errno: .init(rawValue: errno))
            }
        }
        var off = 0
        while off < data.count {
            let r = data.withUnsafeBytes { write(w, $0.baseAddress! + off, data.count - off) }
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { throw EngineError("write \(data.count) saved bytes into \(what)", errno: .init(rawValue: errno)) }
            off += r
        }
    }
}
