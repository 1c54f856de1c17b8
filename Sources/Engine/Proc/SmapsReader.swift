import Glibc

/// Reads /proc/PID/smaps on a second thread. The kernel walks every present page of the task to print
/// it (5-7 ms for 256 MiB, ~20 ms for 1 GiB), and the dump needs only its VmFlags, late: for mm.img. So
/// the dump starts this once the injection is undone and copies the pages meanwhile.
///
/// Lifetime: the thread exists between `init` and `finish()` (or deinit, which joins it and drops the
/// result): no thread outlives the memory dump, as with CopyJob. It blocks every signal and makes no
/// ptrace call; smaps of a task we hold only needs ptrace read access, which the caller already has.
final class SmapsReader {
    /// What the thread fills in; it gets only this pointer.
    private struct Shared {
        var pid: Int32
        var result: Result<[SmapsEntry], ProcError>?
    }
    private let shared: UnsafeMutablePointer<Shared>
    private var thread: pthread_t?
    let pid: Int32

    /// Starts the read. When no thread can be started, `finish()` reads in the caller's thread.
    init(pid: Int32) {
        self.pid = pid
        shared = .allocate(capacity: 1)
        shared.initialize(to: Shared(pid: pid, result: nil))
        let (tid, r) = startQuietThread(UnsafeMutableRawPointer(shared)) { ctx in
            let s = ctx!.assumingMemoryBound(to: Shared.self)
            do throws(ProcError) {
                s.pointee.result = .success(try Smaps.read(pid: s.pointee.pid))
            } catch {
                s.pointee.result = .failure(error)
            }
            return nil
        }
        if r == 0 { thread = tid }
    }

    deinit {
        join()
        shared.deinitialize(count: 1)
        shared.deallocate()
    }

    /// Waits for the thread and returns what it read.
    func finish() throws(ProcError) -> [SmapsEntry] {
        join()
        switch shared.pointee.result {
        case .success(let entries): return entries
        case .failure(let error): throw error
        case nil: return try Smaps.read(pid: pid)
        }
    }

    private func join() {
        guard let t = thread else { return }
        thread = nil
        pthread_join(t, nil)
    }
}
