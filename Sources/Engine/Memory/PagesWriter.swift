import Glibc
import CSys
import Compel

/// Writes the pages of a dump into one pages-N.img. `copy` only lists what goes where in the file (no
/// file exists yet, so the list may be made before anything is injected; EarlyPageScan); `create` makes
/// the file with room for all of it; `finish` copies it all in a CopyJob: each worker reads a batch of
/// up to 256 KiB (scattered pages of a sparse heap in one process_vm_readv) into its own buffer and
/// writes it at the batch's own offset. A worker that writes what it has just read finds the bytes in
/// its core's cache, which a separate writer thread did not: 30-36 against 43-47 ms for 102 MiB of
/// single pages in a C model (docs/benchmarks.md, "Copy workers").
/// The buffers are the only copy held, whatever the size of the memory.
final class PagesWriter {
    let path: String
    /// Opened by `create`: a criu killed before then leaves no file behind.
    private var fd: Int32 = -1
    private let bufferBytes: Int
    private let workers: Int
    private(set) var pagesWritten: UInt64 = 0
    /// Bytes allocated by `reserve`; the file is cut to what was written at `finish`.
    private var reserved: UInt64 = 0
    private var segments: [CopySegment] = []
    private var tasks: [SeizedTask] = []
    private var sourcePaths: [Int32: String] = [:]
    private var finished = false
    /// For the log: how the last `finish` split the copy.
    private(set) var copySummary = ""
    static let pageSize = UInt64(getpagesize())

    /// `workers`: how many threads copy at once, the caller's included (`workers(cpus:)`). Buffer
    /// size: see docs/benchmarks.md.
    init(path: String, bufferBytes: Int = 256 << 10, workers: Int) throws {
        precondition(bufferBytes >= Int(Self.pageSize))
        self.path = path
        self.bufferBytes = bufferBytes
        self.workers = max(1, workers)
    }

    /// One copy worker per CPU in criu's affinity mask `cpus` (a cpuset or taskset may give it fewer than
    /// are online; nil: unknown, all online), at most 4: every write takes the file's lock, so more would
    /// mostly wait.
    static func workers(cpus: [UInt64]?) -> Int {
        let n = cpus.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return min(max(n, 1), 4)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Creates the file, with its blocks allocated for every page listed so far (`reserve`).
    func create() throws {
        precondition(fd < 0)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError("create pages image", path: path, errno: .init(rawValue: errno)) }
        try reserve(bytes: pagesWritten * Self.pageSize)
    }

    /// Allocates the image's blocks for `bytes` before the copy, on filesystems where that makes unwritten
    /// extents (ext4, xfs, btrfs): the writes then skip delayed allocation page by page (ext4: block
    /// reservation, quota, extent-status updates), ~20% of the copy's CPU for 1 GiB (docs/benchmarks.md).
    /// A full disk fails here, before any page is copied. Elsewhere (tmpfs would zero the pages first,
    /// others may not support it) nothing is done.
    private func reserve(bytes: UInt64) throws {
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

    /// Room for `count` more runs (from the pagemap scan): the list then grows once, not by doubling.
    func expect(runs count: Int) { segments.reserveCapacity(segments.count + count) }

    /// Puts `nrPages` pages starting at `address` of the task next in the file.
    func copy(from task: SeizedTask, address: UInt64, nrPages: UInt64) {
        precondition(!finished)
        guard nrPages > 0 else { return }
        if tasks.last !== task { tasks.append(task) }
        segments.append(CopySegment(source: Int32(tasks.count - 1), isFile: false, start: address,
                                    bytes: Int(nrPages * Self.pageSize)))
        pagesWritten += nrPages
    }

    /// Puts `nrPages` pages of a file (a shmem object) from `offset` next in the file; bytes past its end
    /// come out as zeroes, as they read in the mapping.
    func copy(fromFile src: Int32, offset: UInt64, nrPages: UInt64, path: String) {
        precondition(!finished)
        guard nrPages > 0 else { return }
        sourcePaths[src] = path
        segments.append(CopySegment(source: src, isFile: true, start: offset, bytes: Int(nrPages * Self.pageSize)))
        pagesWritten += nrPages
    }

    /// Copies everything listed and returns when the image holds every page, or throws the first error.
    /// `alongside` runs on the caller's thread while the helpers start copying (the pagemap entries);
    /// `midway` runs there once about half the batches are taken (fault injection). An error from either
    /// stops the copy. No worker thread outlives this call.
    func finish(alongside: () throws -> Void = {}, midway: () throws -> Void = {}) throws {
        precondition(!finished && fd >= 0)
        finished = true
        let batches = CopyBatch.cut(segments, bufferBytes: bufferBytes)
        let job = CopyJob(fd: fd, segments: segments, batches: batches, pids: tasks.map(\.pid), bufferBytes: bufferBytes)
        try job.run(workers: workers, alongside: alongside, midway: midway)
        let workers = job.stats.map { "\($0.batches) in \($0.wallMicros / 1000) ms, \($0.cpuMicros / 1000) on CPU" }
        copySummary = "\(batches.count) batches on \(job.stats.count) threads (\(workers.joined(separator: "; "))), entries and other images \(job.alongsideMicros / 1000) ms"

        // The first error wins; only then are unreadable batches worth reading again. A batch is left
        // unrun only after an error in a batch before it (batches are taken in order).
        for k in batches.indices {
            switch job.outcomes[k].kind {
            case .done, .unreadable: break
            case .writeFailed: throw EngineError("write pages image", path: path, errno: .init(rawValue: job.outcomes[k].error))
            case .readFailed:
                let file = sourcePaths[segments[batches[k].first].source] ?? "shared memory"
                throw EngineError("read shared memory", path: file, errno: .init(rawValue: job.outcomes[k].error))
            case .notRun: preconditionFailure("batch \(k) of \(path) was never copied")
            }
        }
        for k in batches.indices where job.outcomes[k].kind == .unreadable { try copyByRuns(job, batches[k]) }
        let written = pagesWritten * Self.pageSize
        if reserved > written && ftruncate(fd, off_t(written)) != 0 {
            throw EngineError("truncate pages image", path: path, errno: .init(rawValue: errno))
        }
    }

    /// A batch that process_vm_readv could not read whole (a PROT_NONE page, say): run by run through
    /// Compel's reader, which falls back to /proc/PID/mem; on this thread, the tracer's.
    private func copyByRuns(_ job: CopyJob, _ batch: CopyBatch) throws {
        let buffer = job.buffer(0)
        var off = 0
        try batch.forEachPiece(segments) { seg, start, bytes in
            let task = tasks[Int(seg.source)]
            do {
                try task.readMemory(at: start, into: UnsafeMutableRawBufferPointer(start: buffer + off, count: bytes))
            } catch {
                throw EngineError.wrap(error, "read pages at \(hex(start))", pid: task.pid)
            }
            off += bytes
        }
        let e = CopyJob.writeAll(fd, buffer, batch.bytes, at: batch.fileOffset)
        if e != 0 { throw EngineError("write pages image", path: path, errno: .init(rawValue: e)) }
    }
}
