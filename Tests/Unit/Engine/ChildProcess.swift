import Glibc
@testable import Engine

/// A process a test forks, inspects and kills. The body runs in the child right after fork. Other test
/// threads may hold malloc's lock at that moment, so the body must only make plain system calls and
/// raw memory stores (no Swift allocation). It reports to the parent with `report` (8-byte values) and
/// then sleeps until killed; an alarm ends it after a minute should the test process die first.
final class ChildProcess {
    let pid: pid_t
    private let reportFd: Int32
    private var reaped = false

    init(_ body: (_ report: (UInt64) -> Void) -> Void) {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe")
        let r = fds[0], w = fds[1]
        let p = fork()
        precondition(p >= 0, "fork")
        if p == 0 {
            close(r)
            alarm(60)
            body { v in
                var v = v
                _ = write(w, &v, 8)
            }
            while true { pause() }
        }
        close(w)
        pid = p
        reportFd = r
    }

    /// The next value the child reported; 0 and a failed expectation upstream if it died first.
    func next() -> UInt64 {
        var v: UInt64 = 0
        var got = 0
        while got < 8 {
            let n = withUnsafeMutableBytes(of: &v) { read(reportFd, $0.baseAddress! + got, 8 - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return 0 }
            got += n
        }
        return v
    }

    /// Wait (up to two seconds) until the child sleeps in pause(), so that /proc shows a still task.
    func waitSleeping() -> Bool {
        for _ in 0..<200 {
            if let st = try? Stat.read(pid: pid), st.state == "S" { return true }
            usleep(10_000)
        }
        return false
    }

    func kill() {
        guard !reaped else { return }
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
    }

    deinit {
        kill()
        close(reportFd)
    }
}

let testPageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

/// A temporary file for tests, removed on deinit.
final class TempFile {
    let path: String
    let fd: Int32

    init(pages: Int, byte: UInt8) {
        var template = Array("/tmp/engine-test-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(fd >= 0, "mkstemp")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let data = [UInt8](repeating: byte, count: pages * testPageSize)
        precondition(data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == data.count, "write")
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
