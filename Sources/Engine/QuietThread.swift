import Glibc

/// Starts a helper thread of criu with every signal blocked, so that signals (and the ptrace stops they
/// bring) keep going to the main thread, the tracer; the caller's own mask is put back before this
/// returns. Every QuietJob starts this way.
/// Returns pthread_create's error number (0: started).
private func startQuietThread(_ argument: UnsafeMutableRawPointer,
                      _ body: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?) -> (thread: pthread_t, error: Int32) {
    var all = sigset_t(), old = sigset_t()
    sigfillset(&all)
    pthread_sigmask(SIG_SETMASK, &all, &old)
    var tid = pthread_t()
    let r = pthread_create(&tid, nil, body, argument)
    pthread_sigmask(SIG_SETMASK, &old, nil)
    return (tid, r)
}

/// One job on a quiet thread (`startQuietThread`), its value handed back by `join`. SmapsReader,
/// EarlyPageScan, each copy worker of a CopyJob and UffdFill's second copier are each one of these.
///
/// Lifetime: the thread exists between `init` and `join()`, or deinit, which joins it and drops the
/// value: no job outlives its owner, so the engine is single-threaded again before anything forks.
final class QuietJob<Value> {
    private final class Slot {
        var value: Value?
    }
    private let slot = Slot()
    private var thread: pthread_t?
    /// pthread_create's error number when no thread could be started, else 0.
    let startError: Int32

    /// Starts `work` on its own thread; when none can be started, `join()` returns nil at once.
    init(_ work: @escaping () -> Value) {
        let slot = self.slot
        let (tid, r) = startQuietClosure { slot.value = work() }
        thread = tid
        startError = r
    }

    deinit { _ = join() }

    /// Waits for the thread and returns what the job returned; nil when no thread started (or it was
    /// joined before).
    func join() -> Value? {
        guard let t = thread else { return nil }
        thread = nil
        pthread_join(t, nil)
        let v = slot.value
        slot.value = nil
        return v
    }
}

/// What the C entry point of a QuietJob gets: no generic type may cross it.
private final class QuietRunner {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Runs `body` on a quiet thread; the thread, or nil and pthread_create's error number.
private func startQuietClosure(_ body: @escaping () -> Void) -> (pthread_t?, Int32) {
    let runner = Unmanaged.passRetained(QuietRunner(body)).toOpaque()
    let (tid, r) = startQuietThread(runner) { ctx in
        Unmanaged<QuietRunner>.fromOpaque(ctx!).takeRetainedValue().body()
        return nil
    }
    guard r == 0 else {
        Unmanaged<QuietRunner>.fromOpaque(runner).release()
        return (nil, r)
    }
    return (tid, 0)
}
