import Glibc

/// A second thread that writes filled buffers to one file while the caller fills the next one, so that
/// the two copies of a dump (process_vm_readv out of the task, write into the page cache) run on two
/// cores at once instead of one after the other.
///
/// Lifetime: the thread exists only between `init` and `finish()` (or deinit). Dumper calls `finish()`
/// before the page copy returns, on success and on failure, so no thread outlives the page copy: the
/// engine is single-threaded again before anything forks or execs. The thread blocks every signal, so
/// signals and ptrace stops are seen by the main thread only, as before; it makes no ptrace call.
///
/// Hand-off: a ring of buffers, two POSIX semaphores per slot ("empty": the caller may fill it; "full":
/// the writer may write it). The semaphores also order the memory accesses: a slot's bytes and length,
/// and the writer's error for it, are seen by the other side after its sem_wait.
final class WriterThread {
    let path: String
    /// What both threads use; the writer thread gets only this pointer, so it holds no reference to
    /// the object and deinit (which joins it) runs as usual.
    private struct Shared {
        var fd: Int32
        var slots: Int
        var buffers: UnsafeMutablePointer<UnsafeMutableRawPointer>
        var lengths: UnsafeMutablePointer<Int>
        var errnos: UnsafeMutablePointer<Int32>
        var empty: UnsafeMutablePointer<sem_t>
        var full: UnsafeMutablePointer<sem_t>
    }
    private let shared: UnsafeMutablePointer<Shared>
    let bufferBytes: Int
    private var thread: pthread_t?
    /// The slot the caller fills next, and whether the caller holds it (acquired, not yet submitted).
    private var next = 0
    private var held = false
    /// The first write error the caller has seen (the writer skips the writes after a failed one).
    private var failure: Int32 = 0

    init(fd: Int32, path: String, slots: Int, bufferBytes: Int) throws {
        self.path = path
        self.bufferBytes = bufferBytes
        let buffers = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: slots)
        for i in 0..<slots { (buffers + i).initialize(to: .allocate(byteCount: bufferBytes, alignment: 4096)) }
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: slots)
        lengths.initialize(repeating: 0, count: slots)
        let errnos = UnsafeMutablePointer<Int32>.allocate(capacity: slots)
        errnos.initialize(repeating: 0, count: slots)
        let empty = UnsafeMutablePointer<sem_t>.allocate(capacity: slots)
        let full = UnsafeMutablePointer<sem_t>.allocate(capacity: slots)
        for i in 0..<slots {
            sem_init(empty + i, 0, 1)
            sem_init(full + i, 0, 0)
        }
        shared = .allocate(capacity: 1)
        shared.initialize(to: Shared(fd: fd, slots: slots, buffers: buffers, lengths: lengths, errnos: errnos,
                                     empty: empty, full: full))
        let (tid, r) = startQuietThread(UnsafeMutableRawPointer(shared)) { ctx in
            WriterThread.loop(ctx!.assumingMemoryBound(to: Shared.self))
            return nil
        }
        if r != 0 {
            release()
            throw EngineError("start page writer thread", path: path, errno: .init(rawValue: r))
        }
        thread = tid
    }

    deinit {
        stop()
        release()
    }

    private func release() {
        let s = shared.pointee
        for i in 0..<s.slots {
            sem_destroy(s.empty + i)
            sem_destroy(s.full + i)
            s.buffers[i].deallocate()
        }
        s.buffers.deallocate()
        s.lengths.deallocate()
        s.errnos.deallocate()
        s.empty.deallocate()
        s.full.deallocate()
        shared.deallocate()
    }

    /// Waits until the next slot is free and returns its buffer. Throws the first write error.
    func acquire() throws -> UnsafeMutableRawBufferPointer {
        let s = shared.pointee
        if !held {
            while sem_wait(s.empty + next) != 0 {}
            held = true
        }
        if s.errnos[next] != 0 && failure == 0 { failure = s.errnos[next] }
        if failure != 0 { throw writeError(failure) }
        return UnsafeMutableRawBufferPointer(start: s.buffers[next], count: bufferBytes)
    }

    /// Hands the slot last acquired, filled with `count` bytes, to the writer.
    func submit(_ count: Int) {
        precondition(held)
        let s = shared.pointee
        s.lengths[next] = count
        held = false
        sem_post(s.full + next)
        next = (next + 1) % s.slots
    }

    /// Waits until every submitted buffer is written, ends the thread, and throws the first write error.
    func finish() throws {
        stop()
        let s = shared.pointee
        for i in 0..<s.slots where s.errnos[i] != 0 && failure == 0 { failure = s.errnos[i] }
        if failure != 0 { throw writeError(failure) }
    }

    /// Ends the thread after it wrote what was submitted (it comes to the stop mark last, in ring order).
    func stop() {
        guard let t = thread else { return }
        thread = nil
        let s = shared.pointee
        if !held { while sem_wait(s.empty + next) != 0 {} }
        held = false
        s.lengths[next] = -1
        sem_post(s.full + next)
        pthread_join(t, nil)
    }

    private func writeError(_ e: Int32) -> EngineError {
        EngineError("write pages image", path: path, errno: .init(rawValue: e))
    }

    private static func loop(_ shared: UnsafeMutablePointer<Shared>) {
        let s = shared.pointee
        var i = 0
        var failed: Int32 = 0
        while true {
            while sem_wait(s.full + i) != 0 {}
            let count = s.lengths[i]
            if count < 0 { return }
            if failed == 0 { failed = writeAll(s.fd, s.buffers[i], count) }
            s.errnos[i] = failed
            sem_post(s.empty + i)
            i = (i + 1) % s.slots
        }
    }

    /// 0 or the errno of the failed write.
    private static func writeAll(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int) -> Int32 {
        var off = 0
        while off < count {
            let n = write(fd, base + off, count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return n < 0 ? errno : ENOSPC }
            off += n
        }
        return 0
    }
}
