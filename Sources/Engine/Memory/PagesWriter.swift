import Glibc
import Compel

/// Streams page contents from a task into a pages-N.img file: read with process_vm_readv into one
/// reusable buffer, written with plain write(2). The buffer is the only copy we hold, whatever the size of
/// the memory being dumped.
final class PagesWriter {
    let path: String
    private let fd: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var pagesWritten: UInt64 = 0
    static let pageSize = UInt64(getpagesize())

    init(path: String, bufferBytes: Int = 4 << 20) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError("create pages image", path: path, errno: .init(rawValue: errno)) }
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferBytes, alignment: 4096)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// Copies `nrPages` pages starting at `address` of the task to the end of the file.
    func copy(from task: SeizedTask, address: UInt64, nrPages: UInt64) throws {
        var addr = address
        var left = nrPages * Self.pageSize
        while left > 0 {
            let n = Int(min(left, UInt64(buffer.count)))
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            try task.readMemory(at: addr, into: slice)
            try writeAll(UnsafeRawBufferPointer(slice))
            addr += UInt64(n)
            left -= UInt64(n)
        }
        pagesWritten += nrPages
    }

    /// Copies pages from a file (a shmem object) to the end of the image.
    func copy(fromFile src: Int32, offset: UInt64, nrPages: UInt64, path: String) throws {
        var off = offset
        var left = nrPages * Self.pageSize
        while left > 0 {
            let want = Int(min(left, UInt64(buffer.count)))
            let n = pread(src, buffer.baseAddress, want, off_t(off))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw EngineError("read shared memory", path: path, errno: .init(rawValue: n < 0 ? errno : EIO)) }
            // A short read past the end of the object leaves zeroes, as the pages read.
            if n < want { memset(buffer.baseAddress! + n, 0, want - n) }
            try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<want]))
            off += UInt64(want)
            left -= UInt64(want)
        }
        pagesWritten += nrPages
    }

    private func writeAll(_ data: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < data.count {
            let n = write(fd, data.baseAddress! + off, data.count - off)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw EngineError("write pages image", path: path, errno: .init(rawValue: n < 0 ? errno : ENOSPC)) }
            off += n
        }
    }
}
