import Foundation
import Glibc
import CZdtm

func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }

/// Spawned children and the stray-reaper must agree on who waits for what: the runner is a child
/// subreaper (so daemonized tests come back to it), and an orphan that nobody owns is reaped by
/// `reapStrays`, never a child some thread is about to wait for.
final class ChildRegistry: @unchecked Sendable {
    static let shared = ChildRegistry()
    private let lock = NSLock()
    private var owned: Set<pid_t> = []

    func withLock<T>(_ body: (inout Set<pid_t>) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&owned)
    }
}

public enum Proc {
    /// Makes orphaned descendants (daemonized tests, restored trees) our children so we can reap them.
    public static func becomeSubreaper() {
        _ = czdtm_set_child_subreaper()
    }

    /// Starts argv[0] with stdout+stderr appended to `log` (or inherited when nil), in its own process
    /// group so everything it leaves behind can be found by group.
    static func spawn(_ argv: [String], log: String?, env: [String: String] = [:]) throws -> pid_t {
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        if let log {
            posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&fa, 1, 2)
        }
        _ = czdtm_spawn_closefrom(&fa, 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setpgroup(&attr, 0)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attr, &mask)
        var dfl = sigset_t()
        sigemptyset(&dfl)
        for s in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&dfl, s) }
        posix_spawnattr_setsigdefault(&attr, &dfl)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var envList = ProcessInfo.processInfo.environment
        for (k, v) in env { envList[k] = v }
        let envStrings = envList.map { "\($0)=\($1)" }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = envStrings.map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        var rc: Int32 = 0
        // ETXTBSY: a file just written (a test binary, a script) may still be open for writing in a
        // child another thread is forking at this moment; that passes in a few milliseconds.
        for attempt in 0..<50 {
            rc = ChildRegistry.shared.withLock { owned -> Int32 in
                let r = posix_spawn(&pid, argv[0], &fa, &attr, cArgs, cEnv)
                if r == 0 { owned.insert(pid) }
                return r
            }
            if rc != ETXTBSY || attempt == 49 { break }
            usleep(10_000)
        }
        guard rc == 0 else { throw ZdtmError.io(path: argv[0], op: "spawn", errno: rc) }
        return pid
    }

    public enum Exit: Equatable, CustomStringConvertible {
        case code(Int32), signal(Int32), timeout
        public var description: String {
            switch self {
            case .code(let c): return "exit \(c)"
            case .signal(let s): return "killed by signal \(s)"
            case .timeout: return "timeout"
            }
        }
        public var ok: Bool { self == .code(0) }
    }

    /// Waits for a child of ours (spawned or adopted) to exit, up to `timeout` seconds.
    static func wait(_ pid: pid_t, timeout: Double) -> Exit {
        let deadline = Date().addingTimeInterval(timeout)
        var st: Int32 = 0
        while true {
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid {
                ChildRegistry.shared.withLock { _ = $0.remove(pid) }
                // The wait status macros are not importable: exited when the low 7 bits are 0.
                if st & 0x7f == 0 { return .code((st >> 8) & 0xff) }
                return .signal(st & 0x7f)
            }
            if r < 0 {
                // Not our child: it can only be watched through /proc.
                if !exists(pid) { return .code(0) }
            }
            if Date() > deadline { return .timeout }
            usleep(5000)
        }
    }

    /// Runs a command to completion; returns its exit and captured output (stdout+stderr).
    static func run(_ argv: [String], timeout: Double, env: [String: String] = [:], log: String? = nil) throws -> (Exit, String) {
        let out = log ?? NSTemporaryDirectory() + "zdtm-cmd-\(getpid())-\(UUID().uuidString)"
        if log == nil { _ = FileManager.default.createFile(atPath: out, contents: nil) }
        defer { if log == nil { unlink(out) } }
        let start = ((try? FileManager.default.attributesOfItem(atPath: out))?[.size] as? Int) ?? 0
        let pid = try spawn(argv, log: out, env: env)
        let ex = wait(pid, timeout: timeout)
        if ex == .timeout {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            _ = wait(pid, timeout: 5)
        }
        let data = FileManager.default.contents(atPath: out) ?? Data()
        let text = String(decoding: data.dropFirst(start), as: UTF8.self)
        return (ex, text)
    }

    /// True while the pid exists and is not a zombie; reaps it if it is our zombie.
    static func exists(_ pid: pid_t) -> Bool {
        guard let stat = read("/proc/\(pid)/stat") else { return false }
        if let r = stat.lastIndex(of: ")"), stat[stat.index(r, offsetBy: 2)] == "Z" {
            var st: Int32 = 0
            ChildRegistry.shared.withLock { owned in
                if !owned.contains(pid) { _ = waitpid(pid, &st, WNOHANG) }
            }
            return false
        }
        return true
    }

    /// Waits until pid is gone (reaping it if it became our zombie). Gone means reaped: a zombie still
    /// holds its pid, and a restore that follows needs it free.
    static func waitGone(_ pid: pid_t, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while exists(pid) || read("/proc/\(pid)/stat") != nil {
            if Date() > deadline { return false }
            usleep(5000)
        }
        return true
    }

    /// Reaps zombie children nobody waits for (orphans adopted through the subreaper flag).
    public static func reapStrays() {
        let me = getpid()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for n in names {
            guard let pid = pid_t(n), let st = read("/proc/\(pid)/stat"), let r = st.lastIndex(of: ")") else { continue }
            let f = st[st.index(r, offsetBy: 2)...].split(separator: " ")
            guard f.count > 1, f[0] == "Z", pid_t(f[1]) == me else { continue }
            var status: Int32 = 0
            ChildRegistry.shared.withLock { owned in
                if !owned.contains(pid) { _ = waitpid(pid, &status, WNOHANG) }
            }
        }
    }

    static func read(_ path: String) -> String? {
        // /proc files report size 0: read in chunks until EOF.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 65536) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data += buf[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func readlink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = Glibc.readlink(path, &buf, 4096)
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Children of every thread of pid.
    static func children(_ pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var out: [pid_t] = []
        for t in tasks {
            let s = read("/proc/\(pid)/task/\(t)/children") ?? ""
            out += s.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return out.sorted()
    }

    /// pid and all its descendants, parents first.
    static func tree(_ root: pid_t) -> [pid_t] {
        var out: [pid_t] = []
        var queue = [root]
        while let p = queue.first {
            queue.removeFirst()
            guard !out.contains(p) else { continue }
            out.append(p)
            queue += children(p)
        }
        return out
    }

    /// The innermost pid of a task (its pid inside its own pid namespace).
    static func nsPid(_ pid: pid_t) -> pid_t? {
        guard let st = read("/proc/\(pid)/status") else { return nil }
        for line in st.split(separator: "\n") where line.hasPrefix("NSpid:") {
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { pid_t($0) }
        }
        return nil
    }

    /// SIGKILLs a whole tree, leaves first are not needed: killed parents do not take children along.
    static func killTree(_ root: pid_t) {
        for p in tree(root).reversed() where p > 1 { kill(p, SIGKILL) }
    }
}
