import Glibc
import CSys
import Compel

/// Streams page contents from a task into a pages-N.img file. Runs of pages are gathered until a buffer
/// is full, so that scattered pages (a sparse heap) cost one process_vm_readv per buffer, not per run; a
/// WriterThread writes each filled buffer while the next one is read, so the two copies overlap. The
/// buffers are the only copy we hold, whatever the size of the memory being dumped. `finish()` (or
/// deinit) ends the writer thread.
final class PagesWriter {
    let path: String
    private let fd: Int32
    private let writer: WriterThread
    private(set) var pagesWritten: UInt64 = 0
    /// Bytes allocated by `reserve`; the file is cut to what was written at `finish`.
    private var reserved: UInt64 = 0
    /// Runs of the task read into the next buffer by the next flush, in order.
    private var pending: [iovec] = []
    private var pendingBytes = 0
    private var pendingTask: SeizedTask?
    /// process_vm_readv takes at most IOV_MAX (1024) remote ranges.
    private static let maxRuns = 1024
    static let pageSize = UInt64(getpagesize())
    private var bufferBytes: Int { writer.bufferBytes }

    /// Buffer size and count: see docs/benchmarks.md for the measurements behind the defaults.
    init(path: String, bufferBytes: Int = 256 << 10, slots: Int = 4) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError("create pages image", path: path, errno: .init(rawValue: errno)) }
        do {
            writer = try WriterThread(fd: fd, path: path, slots: slots, bufferBytes: bufferBytes)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit {
        writer.stop()
        close(fd)
    }

    /// Allocates the image's blocks for `bytes` before the copy, on filesystems where that makes unwritten
    /// extents (ext4, xfs, btrfs): the writes then skip delayed allocation page by page (ext4: block
    /// reservation, quota, extent-status updates), ~20% of the copy's CPU for 1 GiB (docs/benchmarks.md).
    /// A full disk fails here, before any page is copied. Elsewhere (tmpfs would zero the pages first,
    /// others may not support it) nothing is done.
    func reserve(bytes: UInt64) throws {
        guard bytes > 0 else { return }
        var fs = statfs()
        guard fstatfs(fd, &fs) == 0,
              [Int(CSYS_EXT4_SUPER_MAGIC), Int(CSYS_XFS_SUPER_MAGIC), Int(CSYS_BTRFS_SUPER_MAGIC)].contains(Int(fs.f_type))
        else { return }
        if csys_fallocate(fd, 0, 0, Int64(bytes)) == 0 {
            reserved = bytes
        } else if errno == ENOSPC || errno == EDQUOT || errno == EFBIG {
            throw EngineError("allocate pages image (\(bytes >> 20) MiB)", path: path, errno: .init(rawValue: errno))
        }
    }

    /// Queues `nrPages` pages starting at `address` of the task for the end of the file; `flush` writes them.
    func copy(from task: SeizedTask, address: UInt64, nrPages: UInt64) throws {
        if let t = pendingTask, t !== task { try flush() }
        pendingTask = task
        var addr = address
        var left = nrPages * Self.pageSize
        while left > 0 {
            let room = bufferBytes - pendingBytes
            if room == 0 || pending.count == Self.maxRuns {
                try flush()
                pendingTask = task
                continue
            }
            let n = Int(min(left, UInt64(room)))
            pending.append(iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(addr)), iov_len: n))
            pendingBytes += n
            addr += UInt64(n)
            left -= UInt64(n)
        }
        pagesWritten += nrPages
    }

    /// Reads every queued run into a free buffer with one process_vm_readv and hands it to the writer. A
    /// short read (a page process_vm_readv may not touch, e.g. PROT_NONE) falls back to Compel's reader run
    /// by run.
    func flush() throws {
        guard let task = pendingTask, pendingBytes > 0 else { return }
        let buffer = try writer.acquire()
        var local = iovec(iov_base: buffer.baseAddress, iov_len: pendingBytes)
        let done = pending.withUnsafeBufferPointer { csys_sys_process_vm_readv(task.pid, &local, 1, $0.baseAddress, UInt($0.count)) }
        if done != pendingBytes {
            var off = 0
            for run in pending {
                let addr = UInt64(UInt(bitPattern: run.iov_base))
                do {
                    try task.readMemory(at: addr, into: UnsafeMutableRawBufferPointer(rebasing: buffer[off..<(off + run.iov_len)]))
                } catch {
                    throw EngineError.wrap(error, "read pages at \(hex(addr))", pid: task.pid)
                }
                off += run.iov_len
            }
        }
        writer.submit(pendingBytes)
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
        pendingTask = nil
    }

    /// Writes out what is queued and waits until the image holds every page; ends the writer thread.
    func finish() throws {
        try flush()
        try writer.finish()
        let written = pagesWritten * Self.pageSize
        if reserved > written && ftruncate(fd, off_t(written)) != 0 {
            throw EngineError("truncate pages image", path: path, errno: .init(rawValue: errno))
        }
    }

    /// Copies pages from a file (a shmem object) to the end of the image.
    func copy(fromFile src: Int32, offset: UInt64, nrPages: UInt64, path: String) throws {
        try flush()
        var off = offset
        var left = nrPages * Self.pageSize
        while left > 0 {
            let buffer = try writer.acquire()
            let want = Int(min(left, UInt64(buffer.count)))
            let n = pread(src, buffer.baseAddress, want, off_t(off))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw EngineError("read shared memory", path: path, errno: .init(rawValue: n < 0 ? errno : EIO)) }
            // A short read past the end of the object leaves zeroes, as the pages read.
            if n < want { memset(buffer.baseAddress! + n, 0, want - n) }
            writer.submit(want)
            off += UInt64(want)
            left -= UInt64(want)
        }
        pagesWritten += nrPages
    }
}
