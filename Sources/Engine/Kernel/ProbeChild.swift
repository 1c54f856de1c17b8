import Glibc
import CSys
import SystemPackage

/// A child forked only to be probed. It runs `setup`, reports the outcome, then sleeps until it is killed;
/// `finish()` always kills and reaps it, so a probe never leaves a process behind.
struct ProbeChild {
    let pid: pid_t

    /// Returns the child, or the errno of whatever failed (fork, or `setup` in the child).
    static func start(_ setup: () -> Int32 = { 0 }) -> Result<ProbeChild, Errno> {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return .failure(Errno(rawValue: errno)) }
        let pid = fork()
        if pid < 0 {
            let e = errno
            close(fds[0]); close(fds[1])
            return .failure(Errno(rawValue: e))
        }
        if pid == 0 {
            close(fds[0])
            _ = csys_prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
            var err = setup()
            _ = write(fds[1], &err, MemoryLayout<Int32>.size)
            close(fds[1])
            while true { pause() }
        }
        close(fds[1])
        var err: Int32 = 0
        let n = read(fds[0], &err, MemoryLayout<Int32>.size)
        close(fds[0])
        let child = ProbeChild(pid: pid)
        if n != MemoryLayout<Int32>.size { child.finish(); return .failure(.ioError) }
        if err != 0 { child.finish(); return .failure(Errno(rawValue: err)) }
        return .success(child)
    }

    func finish() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, __WALL) < 0 && errno == EINTR {}
    }

    /// Seizes and interrupts the child; on success it sits in a ptrace stop.
    func seizeAndInterrupt(options: Int = 0) -> Int32? {
        if csys_ptrace(Int(CSYS_PTRACE_SEIZE), pid, nil, UnsafeMutableRawPointer(bitPattern: options)) < 0 { return errno }
        if csys_ptrace(Int(CSYS_PTRACE_INTERRUPT), pid, nil, nil) < 0 { return errno }
        var status: Int32 = 0
        while true {
            if waitpid(pid, &status, __WALL) >= 0 { break }
            if errno != EINTR { return errno }
        }
        guard csys_wifstopped(status) != 0 else { return ECHILD }
        return nil
    }

    /// Runs `body` with the child seized; reports the errno of a failed seize as missing.
    static func withSeized(options: Int = 0, setup: () -> Int32 = { 0 },
                           _ body: (pid_t) -> ProbeResult) -> ProbeResult {
        switch start(setup) {
        case .failure(let e):
            return .failed("probe child", e.rawValue)
        case .success(let child):
            defer { child.finish() }
            if let e = child.seizeAndInterrupt(options: options) { return .failed("PTRACE_SEIZE", e) }
            return body(child.pid)
        }
    }
}

/// Runs `body` in a forked child and returns what it returned (0 for success, an errno otherwise).
func runInChild(_ body: () -> Int32) -> Int32 {
    let pid = fork()
    if pid < 0 { return errno }
    if pid == 0 { _exit(body()) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { return errno }
    }
    return csys_wifexited(status) != 0 ? csys_wexitstatus(status) : EINTR
}
