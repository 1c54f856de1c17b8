import Glibc
import CSys

/// Runs a small body inside another task's namespaces: a forked child setns()es into them and writes
/// its answer to a pipe. criu itself never changes namespace, and the child cannot outlive the call.
enum NsHelper {
    /// `kinds`: ns link names ("uts", "net", "ipc") of `pid` to join, in order. The body returns the text
    /// to send back, or throws; its error text becomes the EngineError's reason.
    static func run(pid: Int32, join kinds: [String], what: String, _ body: () throws -> String) throws -> String {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw EngineError("pipe", errno: .init(rawValue: errno)) }
        // Open the links before the fork, so that a failure names the path from here.
        var nsFds: [Int32] = []
        defer { for fd in nsFds { close(fd) } }
        for k in kinds {
            let path = "/proc/\(pid)/ns/\(k)"
            let fd = csys_open(path, O_RDONLY | O_CLOEXEC, 0)
            guard fd >= 0 else {
                let e = errno
                close(fds[0]); close(fds[1])
                throw EngineError("open", pid: pid, path: path, errno: .init(rawValue: e))
            }
            nsFds.append(fd)
        }
        let child = fork()
        if child == 0 {
            close(fds[0])
            var out: String
            do {
                for (k, fd) in zip(kinds, nsFds) where csys_sys_setns(fd, 0) < 0 {
                    throw EngineError("setns into the \(k) namespace", errno: .init(rawValue: errno))
                }
                out = "O" + (try body())
            } catch {
                out = "E\(error)"
            }
            out.withUTF8 { b in _ = write(fds[1], b.baseAddress, b.count) }
            _exit(0)
        }
        let forkErr = errno
        close(fds[1])
        defer { close(fds[0]) }
        guard child > 0 else { throw EngineError("fork namespace helper", pid: pid, errno: .init(rawValue: forkErr)) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        var st: Int32 = 0
        while waitpid(child, &st, 0) < 0 && errno == EINTR {}
        let text = String(decoding: bytes, as: UTF8.self)
        guard let tag = text.first else {
            throw EngineError(what, pid: pid, reason: "namespace helper died without an answer")
        }
        if tag == "E" { throw EngineError(what, pid: pid, reason: String(text.dropFirst())) }
        return String(text.dropFirst())
    }
}
