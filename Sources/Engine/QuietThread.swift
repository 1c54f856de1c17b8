import Glibc

/// Starts a helper thread of criu with every signal blocked, so that signals (and the ptrace stops they
/// bring) keep going to the main thread, the tracer; the caller's own mask is put back before this
/// returns. The page copy workers and the smaps reader of a dump and the second UFFDIO_COPY thread of a restore
/// start this way.
/// Returns pthread_create's error number (0: started).
func startQuietThread(_ argument: UnsafeMutableRawPointer,
                      _ body: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?) -> (thread: pthread_t, error: Int32) {
    var all = sigset_t(), old = sigset_t()
    sigfillset(&all)
    pthread_sigmask(SIG_SETMASK, &all, &old)
    var tid = pthread_t()
    let r = pthread_create(&tid, nil, body, argument)
    pthread_sigmask(SIG_SETMASK, &old, nil)
    return (tid, r)
}
