import Glibc
import CSys
import Synchronization

/// The batches of one pages image, copied by the caller's thread and `workers - 1` helper threads. Each
/// worker takes the next batch from a shared counter, so a worker slowed down (the smaps reader shares
/// the CPUs) takes fewer; each reads into buffers of its own and writes at the batch's own offset.
///
/// Every write to the image takes its inode lock, and a writer that finds it taken spins in the kernel
/// while the holder copies (a fifth of the copy's CPU for 256 MiB, in perf). So the writers take turns
/// by a token of ours first: a worker that holds a batch and finds the token taken reads one more
/// batch instead, into its second buffer, and writes both at its next turn; it waits only with both
/// buffers full (docs/benchmarks.md, "Writers take turns").
///
/// Lifetime: the helpers exist only inside `run`, which joins them before it returns or throws: the
/// engine is single-threaded again before anything forks. They block every signal, so signals and
/// ptrace stops still reach the main thread, the tracer, alone; they make no ptrace call (process_vm_readv
/// needs only the access the tracer already has).
///
/// Sharing: segments and batches are read-only while workers run; each batch's outcome is written by the
/// one worker that took it and read after the join.
final class CopyJob {
    enum Kind: UInt8 { case notRun, done, unreadable, writeFailed, readFailed }
    struct Outcome {
        var kind = Kind.notRun
        var error: Int32 = 0
    }

    let fd: Int32
    let segments: [CopySegment]
    let batches: [CopyBatch]
    let pids: [Int32]
    let bufferBytes: Int
    let outcomes: UnsafeMutablePointer<Outcome>
    private var buffers: [UnsafeMutableRawPointer] = []
    private var iovecs: [UnsafeMutablePointer<iovec>] = []
    private let next = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    /// Held by the worker that is writing.
    private let writing = Atomic<Bool>(false)
    /// Buffers per worker: one being read into while the other waits for its turn to be written.
    static let buffersPerWorker = 2
    /// For the log: what each worker did, and how long `alongside` took.
    struct WorkerStats {
        var batches = 0
        var wallMicros: UInt64 = 0
        var cpuMicros: UInt64 = 0
    }
    private(set) var stats: [WorkerStats] = []
    private(set) var alongsideMicros: UInt64 = 0
    private var statSlots: UnsafeMutablePointer<WorkerStats>?

    init(fd: Int32, segments: [CopySegment], batches: [CopyBatch], pids: [Int32], bufferBytes: Int) {
        self.fd = fd
        self.segments = segments
        self.batches = batches
        self.pids = pids
        self.bufferBytes = bufferBytes
        outcomes = .allocate(capacity: max(batches.count, 1))
        outcomes.initialize(repeating: Outcome(), count: max(batches.count, 1))
    }

    deinit {
        for b in buffers { b.deallocate() }
        for v in iovecs { v.deallocate() }
        outcomes.deallocate()
    }

    /// First buffer of worker `w` (worker 0 is the caller).
    func buffer(_ w: Int) -> UnsafeMutableRawPointer { buffers[w * Self.buffersPerWorker] }

    /// Copies every batch; returns when all are done or the copy stopped at an error (see `outcomes`).
    /// `alongside` runs on the caller's thread once the helpers are started, before it copies too.
    /// `midway` runs there once, when the caller takes a batch past the middle, or at the end if the
    /// helpers took all of those (then late), but not after a failed batch: its error comes first.
    /// Throws only what `alongside` or `midway` throws, after the helpers are joined.
    func run(workers: Int, alongside: () throws -> Void, midway: () throws -> Void) throws {
        let count = batches.isEmpty ? 1 : min(workers, batches.count)
        for _ in 0..<count {
            for _ in 0..<Self.buffersPerWorker { buffers.append(.allocate(byteCount: bufferBytes, alignment: 4096)) }
            iovecs.append(.allocate(capacity: CopyBatch.maxPieces))
        }
        let slots = UnsafeMutablePointer<WorkerStats>.allocate(capacity: count)
        slots.initialize(repeating: WorkerStats(), count: count)
        statSlots = slots
        var helpers: [QuietJob<Void>] = []
        // Runs after the join below; the slots of helpers that did not start are dropped.
        defer {
            stats = Array(UnsafeBufferPointer(start: slots, count: helpers.count + 1))
            slots.deallocate()
            statSlots = nil
        }
        for w in 1..<count {
            let helper = QuietJob { self.work(w) { true } }
            // Without a helper the caller copies alone: slower, not wrong.
            if helper.startError != 0 { break }
            helpers.append(helper)
        }
        defer { for h in helpers { _ = h.join() } }
        let t0 = Clock.micros()
        do {
            try alongside()
            alongsideMicros = Clock.micros() - t0
        } catch {
            stopped.store(true, ordering: .relaxed)
            throw error
        }
        var failure: Error?
        var called = false
        func check() -> Bool {
            called = true
            do { try midway() } catch { failure = error }
            return failure == nil
        }
        work(0, midway: check)
        // The helpers may have taken every batch past the middle.
        if !called && !stopped.load(ordering: .relaxed) { _ = check() }
        if let failure { throw failure }
    }

    /// Takes batches until none is left or the copy stopped. `midway` runs once past half the batches
    /// (helpers get one that does nothing); false stops the copy. A batch taken is always finished (read
    /// and written, or found unreadable), so a batch left unrun comes after a failed one.
    private func work(_ w: Int, midway: () -> Bool) {
        let slot = statSlots! + w
        let c0 = Clock.threadCPUMicros(), t0 = Clock.micros()
        // Counted locally: the slots of all workers share a cache line.
        var taken = 0
        defer {
            slot.pointee = WorkerStats(batches: taken, wallMicros: Clock.micros() - t0, cpuMicros: Clock.threadCPUMicros() - c0)
        }
        let iov = iovecs[w]
        var free = Array(buffers[(w * Self.buffersPerWorker)..<((w + 1) * Self.buffersPerWorker)])
        var held: [(batch: Int, buffer: UnsafeMutableRawPointer)] = []
        held.reserveCapacity(Self.buffersPerWorker)
        var exhausted = false
        var midwayDone = false
        while true {
            let stop = stopped.load(ordering: .relaxed)
            if !held.isEmpty {
                // Without a free buffer, or with nothing more to read, this worker waits for its turn.
                if exhausted || stop || free.isEmpty {
                    takeTurn()
                } else if !tryTurn() {
                    readNext()
                    continue
                }
                for (k, buffer) in held {
                    let e = Self.writeAll(fd, buffer, batches[k].bytes, at: batches[k].fileOffset)
                    outcomes[k] = e == 0 ? Outcome(kind: .done) : Outcome(kind: .writeFailed, error: e)
                    if e != 0 { stopped.store(true, ordering: .relaxed) }
                    free.append(buffer)
                }
                held.removeAll(keepingCapacity: true)
                writing.store(false, ordering: .releasing)
                continue
            }
            if exhausted || stop { return }
            readNext()
        }

        /// Takes the next batch, if any, and reads it into a free buffer.
        func readNext() {
            let k = next.add(1, ordering: .relaxed).oldValue
            guard k < batches.count else {
                exhausted = true
                return
            }
            if !midwayDone && k >= batches.count / 2 {
                midwayDone = true
                if !midway() {
                    // Taken but not run: the failure that stops the copy is reported before it.
                    stopped.store(true, ordering: .relaxed)
                    exhausted = true
                    return
                }
            }
            taken += 1
            let buffer = free.removeLast()
            if let failed = read(batches[k], buffer: buffer, iov: iov) {
                outcomes[k] = failed
                if failed.kind == .readFailed { stopped.store(true, ordering: .relaxed) }
                free.append(buffer)
            } else {
                held.append((k, buffer))
            }
        }
    }

    private func tryTurn() -> Bool {
        writing.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    /// Waits for the token. The holder is writing on another CPU, or was preempted: yield to it then.
    private func takeTurn() {
        while !tryTurn() {
            while writing.load(ordering: .relaxed) { sched_yield() }
        }
    }

    /// Reads a batch into `buffer`; nil when all of it was read, else what went wrong.
    private func read(_ batch: CopyBatch, buffer: UnsafeMutableRawPointer, iov: UnsafeMutablePointer<iovec>) -> Outcome? {
        let seg = segments[batch.first]
        if seg.isFile {
            let e = Self.readAll(seg.source, buffer, batch.bytes, at: seg.start + UInt64(batch.skip))
            return e == 0 ? nil : Outcome(kind: .readFailed, error: e)
        }
        var n = 0
        batch.forEachPiece(segments) { _, start, bytes in
            iov[n] = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(start)), iov_len: bytes)
            n += 1
        }
        var local = iovec(iov_base: buffer, iov_len: batch.bytes)
        let done = csys_sys_process_vm_readv(pids[Int(seg.source)], &local, 1, iov, UInt(n))
        return done == batch.bytes ? nil : Outcome(kind: .unreadable)
    }

    /// 0 or the errno of the failed write.
    static func writeAll(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int, at offset: UInt64) -> Int32 {
        var off = 0
        while off < count {
            let n = pwrite(fd, base + off, count - off, off_t(offset) + off_t(off))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return n < 0 ? errno : ENOSPC }
            off += n
        }
        return 0
    }

    /// 0 or the errno of the failed read. A read that ends early leaves zeroes for the rest, as the
    /// mapping reads past the object's end; one that finds nothing at all is EIO (the object shrank
    /// under a range SEEK_DATA reported).
    static func readAll(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int, at offset: UInt64) -> Int32 {
        var off = 0
        while off < count {
            let n = pread(fd, base + off, count - off, off_t(offset) + off_t(off))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            if n == 0 {
                if off == 0 { return EIO }
                memset(base + off, 0, count - off)
                break
            }
            off += n
        }
        return 0
    }
}
