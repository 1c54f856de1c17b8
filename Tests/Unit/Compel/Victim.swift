import CSys
import Glibc
import SystemPackage
@testable import Compel

/// Where the C victim sources live, next to this file.
let victimsDir: String = {
    let here = #filePath
    return String(here[..<here.lastIndex(of: "/")!]) + "/victims"
}()

struct TestFailure: Error, CustomStringConvertible { let description: String }

/// One temporary directory per test process for the compiled victims, removed at exit.
let testTmpDir: String = {
    var tmpl = Array("/tmp/compel-test-XXXXXX".utf8CString)
    let dir = tmpl.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) } ?? "/tmp"
    atexit {
        guard let d = opendir(testTmpDir) else { return }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { unlink(testTmpDir + "/" + name) }
        }
        closedir(d)
        rmdir(testTmpDir)
    }
    return dir
}()

/// Built once per test process (Swift initializes globals exactly once, thread-safely).
enum Built {
    static let victim = Result { try compileVictim("victim.c") }
    static let blob = Result { try compileVictim("blob.c", flags: blobFlags) }
    static let blobExternal = Result { try compileVictim("blob_external.c", flags: blobFlags) }
}

/// Compiles a C source from victims/ into the test directory and returns the binary's path.
func compileVictim(_ source: String, flags: [String] = ["-O1", "-pthread"]) throws -> String {
    let out = testTmpDir + "/" + source.split(separator: ".")[0]
    let status = try run(["/usr/bin/cc"] + flags + ["-o", out, victimsDir + "/" + source])
    if status != 0 { throw TestFailure(description: "cc \(source) exited with \(status)") }
    return out
}

/// Runs a command to completion, returns its exit status.
func run(_ argv: [String]) throws -> Int32 {
    var pid: pid_t = 0
    let cargs = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    let r = posix_spawn(&pid, argv[0], nil, nil, cargs, Glibc.environ)
    if r != 0 { throw TestFailure(description: "spawn \(argv[0]): errno \(r)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return csys_wifexited(status) != 0 ? csys_wexitstatus(status) : 128 + csys_wtermsig(status)
}

/// A victim process the test started; killed and reaped when the object goes away, pass or fail.
final class Victim {
    let pid: pid_t
    let stdinFd: Int32
    let stdoutFd: Int32
    private var buffered: [UInt8] = []
    private var reaped = false

    init(_ binary: String, _ args: [String] = []) throws {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        guard csys_sys_pipe2(&inPipe, O_CLOEXEC) == 0, csys_sys_pipe2(&outPipe, O_CLOEXEC) == 0 else { throw TestFailure(description: "pipe") }
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_adddup2(&fa, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&fa, outPipe[1], 1)
        // The test runner's threads block signals; a victim starts with an empty mask and default actions.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let argv = ([binary] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let r = posix_spawn(&pid, binary, &fa, &attr, argv, Glibc.environ)
        close(inPipe[0]); close(outPipe[1])
        if r != 0 { close(inPipe[1]); close(outPipe[0]); throw TestFailure(description: "spawn \(binary): \(r)") }
        self.pid = pid
        self.stdinFd = inPipe[1]
        self.stdoutFd = outPipe[0]
    }

    /// The next line the victim prints, waiting at most `timeoutMs`.
    func readLine(timeoutMs: Int32 = 10_000) throws -> String {
        while true {
            if let nl = buffered.firstIndex(of: 10) {
                let line = String(decoding: buffered[..<nl], as: UTF8.self)
                buffered.removeSubrange(...nl)
                return line
            }
            var p = pollfd(fd: stdoutFd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, timeoutMs)
            if r == 0 { throw TestFailure(description: "victim \(pid) printed nothing within \(timeoutMs) ms") }
            if r < 0 { if errno == EINTR { continue }; throw TestFailure(description: "poll errno \(errno)") }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(stdoutFd, $0.baseAddress, $0.count) }
            if n <= 0 { throw TestFailure(description: "victim \(pid) closed its stdout") }
            buffered += chunk[0..<n]
        }
    }

    /// Whether the victim has printed anything not yet read, within `ms`.
    func hasOutput(withinMs ms: Int32) -> Bool {
        if !buffered.isEmpty { return true }
        var p = pollfd(fd: stdoutFd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, ms) > 0
    }

    func send(_ s: String) {
        _ = s.utf8CString.withUnsafeBytes { write(stdinFd, $0.baseAddress, $0.count - 1) }
    }

    /// The State letter of /proc/PID/status.
    func state() -> Character? { try? threadState(pid: pid, tid: pid) }

    /// Waits for the victim to exit by itself and returns its exit code (128+sig when killed).
    func waitExit(timeoutMs: Int = 10_000) throws -> Int32 {
        var status: Int32 = 0
        for _ in 0..<(timeoutMs / 10) {
            let r = waitpid(pid, &status, Int32(CSYS_WALL | CSYS_WNOHANG))
            if r == pid {
                if csys_wifstopped(status) != 0 { continue }
                reaped = true
                return csys_wifexited(status) != 0 ? csys_wexitstatus(status) : 128 + csys_wtermsig(status)
            }
            if r < 0 { reaped = true; throw TestFailure(description: "waitpid \(pid): errno \(errno)") }
            usleep(10_000)
        }
        throw TestFailure(description: "victim \(pid) did not exit within \(timeoutMs) ms")
    }

    /// Polls until the victim's state letter is `s`.
    func waitState(_ s: Character, timeoutMs: Int = 5_000) -> Bool {
        for _ in 0..<(timeoutMs / 5) {
            if state() == s { return true }
            usleep(5_000)
        }
        return false
    }

    deinit {
        close(stdinFd)
        close(stdoutFd)
        if !reaped {
            kill(pid, SIGKILL)
            // Bounded: a victim whose threads are still traced by a broken test must not hang the suite.
            var status: Int32 = 0
            for _ in 0..<500 {
                let r = waitpid(pid, &status, CSYS_WALL | CSYS_WNOHANG)
                if r == pid && csys_wifstopped(status) == 0 { break }
                if r < 0 && errno != EINTR { break }
                usleep(10_000)
            }
        }
    }
}

/// Waits until every thread of `pid` is asleep (state S), i.e. blocked in the call the test is about.
func waitAsleep(_ pid: pid_t, timeoutMs: Int = 5_000) -> Bool {
    for _ in 0..<(timeoutMs / 5) {
        if let tids = try? listThreads(pid: pid),
           tids.allSatisfy({ (try? threadState(pid: pid, tid: $0)) == "S" }) { return true }
        usleep(5_000)
    }
    return false
}

/// process_vm_readv without Compel (nil when the kernel refuses), to look at a victim that is not seized.
func vmRead(_ pid: pid_t, _ addr: UInt64, _ count: Int) -> [UInt8]? {
    var buf = [UInt8](repeating: 0, count: count)
    let n = buf.withUnsafeMutableBytes { raw -> Int in
        var l = iovec(iov_base: raw.baseAddress, iov_len: count)
        var r = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(addr)), iov_len: count)
        return csys_sys_process_vm_readv(pid, &l, 1, &r, 1)
    }
    return n == count ? buf : nil
}
