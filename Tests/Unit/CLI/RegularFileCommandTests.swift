import Testing
import Foundation
import CSys

/// Regular-file checks that need a step between dump and restore (changing the file, handing criu a
/// fd): real `sleep` processes holding a file or pipe on fd 3, started and killed here.
@Suite(.serialized) struct RegularFileCommandTests {
    typealias Sleeper = DumpRestoreCommandTests.Sleeper

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "criu-regf-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// `sleep` with /dev/null on 0-2 and `fd3` on fd 3 (moved 7 bytes in when it is a file).
    func startSleeper(fd3: Int32, seek: Bool) throws -> Sleeper {
        let skip = seek ? "read -r -N 7 x <&3; " : ""
        let script = "for f in /proc/$$/fd/*; do n=${f##*/}; [ \"$n\" -gt 3 ] && eval \"exec $n>&-\"; done; \(skip)exec sleep 100"
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        posix_spawn_file_actions_adddup2(&fa, fd3, 3)
        var pid: pid_t = 0
        let args = ["/bin/bash", "-c", script]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        argv.append(nil)
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/bash", &fa, nil, argv, environ) == 0 else { throw CocoaError(.executableLoad) }
        for _ in 0..<300 {
            if (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "sleep\n" { break }
            usleep(10_000)
        }
        return Sleeper(pid: pid)
    }

    /// criu with `stdin` as its fd 0 (the fd --inherit-fd hands over). Spawned and reaped by pid, not
    /// with Foundation's Process, whose SIGCHLD watcher may reap children of other tests in this process.
    func criu(_ args: [String], stdin: Int32? = nil) throws -> (status: Int32, err: String) {
        var dir = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        let bin = dir.appendingPathComponent(".build/debug/criu").path
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&errPipe) == 0 else { throw CocoaError(.fileWriteUnknown) }
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        if let stdin { posix_spawn_file_actions_adddup2(&fa, stdin, 0) } else { posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) }
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&fa, errPipe[1], 2)
        posix_spawn_file_actions_addclose(&fa, errPipe[0])
        var argv: [UnsafeMutablePointer<CChar>?] = ([bin] + args).map { strdup($0) }
        argv.append(nil)
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, bin, &fa, nil, argv, environ)
        close(errPipe[1])
        defer { close(errPipe[0]) }
        guard rc == 0 else { throw CocoaError(.executableLoad) }
        var err: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(errPipe[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            err += buf[0..<n]
        }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        let status = st & 0x7f == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f)
        return (status, String(decoding: err, as: UTF8.self))
    }

    func restoredPid(_ d: String) throws -> Int32 {
        Int32(try String(contentsOfFile: d + "/restored.pid", encoding: .utf8))!
    }

    func fdLink(_ pid: Int32, _ fd: Int32) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")
    }

    func fdPos(_ pid: Int32, _ fd: Int32) throws -> String {
        let info = try String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8)
        return String(info.split(separator: "\n").first { $0.hasPrefix("pos:") } ?? "")
    }

    @Test func changedFileIsRefusedUnchangedRestores() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let file = d + "/data.txt"
        try "0123456789abcdef\n".write(toFile: file, atomically: false, encoding: .utf8)
        let fd = open(file, O_RDONLY)
        let p = try startSleeper(fd3: fd, seek: true)
        close(fd)
        defer { p.stop() }
        let posBefore = try fdPos(p.pid, 3)
        let dump = try criu(["dump", "-t", String(p.pid), "-D", d, "-o", "dump.log"])
        #expect(dump.status == 0, "\(dump.err)")
        _ = p.reap()
        var orig = stat()
        #expect(stat(file, &orig) == 0)

        // Bigger: refused, naming the file and both sizes.
        try "0123456789abcdef\nmore\n".write(toFile: file, atomically: false, encoding: .utf8)
        var r = try criu(["restore", "-D", d, "-d", "-o", "restore.log"])
        #expect(r.status == 1)
        #expect(r.err.contains(file) && r.err.contains("size changed since the dump (17 then, 22 now)"), "\(r.err)")
        #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
        #expect(kill(p.pid, 0) != 0)

        // Same size, other contents and mtime: refused by the mtime.
        try "0123456789ABCDEF\n".write(toFile: file, atomically: false, encoding: .utf8)
        var times = [orig.st_atim, timespec(tv_sec: orig.st_mtim.tv_sec - 100, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)
        r = try criu(["restore", "-D", d, "-d", "-o", "restore.log"])
        #expect(r.status == 1)
        #expect(r.err.contains(file) && r.err.contains("modified since the dump"), "\(r.err)")

        // Size and mtime as dumped: restores, at the dumped position.
        times = [orig.st_atim, orig.st_mtim]
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)
        r = try criu(["restore", "-D", d, "-d", "-o", "restore.log", "--pidfile", "restored.pid"])
        #expect(r.status == 0, "\(r.err)")
        let pid = try restoredPid(d)
        defer { kill(pid, SIGKILL) }
        #expect(try fdLink(pid, 3) == file)
        #expect(try fdPos(pid, 3) == posBefore)
    }

    @Test func inheritFdStandsInForAPipe() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var st = stat()
        #expect(fstat(fds[0], &st) == 0)
        let key = "pipe:[\(st.st_ino)]"
        let p = try startSleeper(fd3: fds[0], seek: false)
        defer { p.stop() }
        #expect(try fdLink(p.pid, 3) == key)
        let dump = try criu(["dump", "-t", String(p.pid), "-D", d, "-o", "dump.log"])
        #expect(dump.status == 0, "\(dump.err)")
        _ = p.reap()
        let r = try criu(["restore", "-D", d, "-d", "-o", "restore.log", "--pidfile", "restored.pid",
                          "--inherit-fd", "fd[0]:\(key)"], stdin: fds[0])
        #expect(r.status == 0, "\(r.err)")
        let pid = try restoredPid(d)
        defer { kill(pid, SIGKILL) }
        // Our pipe, not a new one: what we write, the restored task can read.
        #expect(try fdLink(pid, 3) == key)
    }

    @Test func externalFileNeedsAndTakesInheritFd() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let file = d + "/outside.txt", other = d + "/given.txt"
        try "outside\n".write(toFile: file, atomically: false, encoding: .utf8)
        try "given by the runtime\n".write(toFile: other, atomically: false, encoding: .utf8)
        let fd = open(file, O_RDONLY)
        var st = stat()
        #expect(fstat(fd, &st) == 0)
        let p = try startSleeper(fd3: fd, seek: true)
        close(fd)
        defer { p.stop() }
        let info = try String(contentsOfFile: "/proc/\(p.pid)/fdinfo/3", encoding: .utf8)
        let mnt = Int(info.split(separator: "\n").first { $0.hasPrefix("mnt_id:") }!.split(separator: "\t").last!)!
        let key = "file[\(String(mnt, radix: 16)):\(String(st.st_ino, radix: 16))]"

        let bad = try criu(["dump", "-t", String(p.pid), "-D", d, "--external", "file[zz]"])
        #expect(bad.status == 1 && bad.err.contains("file[MNT_ID:INODE]"), "\(bad.err)")
        #expect(p.isRunning)

        let dump = try criu(["dump", "-t", String(p.pid), "-D", d, "-o", "dump.log", "--external", key])
        #expect(dump.status == 0, "\(dump.err)")
        _ = p.reap()
        var r = try criu(["restore", "-D", d, "-d", "-o", "restore.log"])
        #expect(r.status == 1 && r.err.contains("--inherit-fd fd[N]:\(key)"), "\(r.err)")

        let given = open(other, O_RDONLY)
        defer { close(given) }
        r = try criu(["restore", "-D", d, "-d", "-o", "restore.log", "--pidfile", "restored.pid",
                      "--inherit-fd", "fd[0]:\(key)"], stdin: given)
        #expect(r.status == 0, "\(r.err)")
        let pid = try restoredPid(d)
        defer { kill(pid, SIGKILL) }
        #expect(try fdLink(pid, 3) == other)
        #expect(try fdPos(pid, 3) == "pos:\t7")
    }

    /// A pty pair of ours: (master, slave, slave path).
    func openPty() throws -> (Int32, Int32, String) {
        let m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0, index: UInt32 = 0
        try #require(m >= 0 && csys_ioctl(m, CSYS_TIOCSPTLCK, &unlock) == 0 && csys_ioctl(m, CSYS_TIOCGPTN, &index) == 0)
        let path = "/dev/pts/\(index)"
        let s = open(path, O_RDWR | O_NOCTTY)
        try #require(s >= 0)
        return (m, s, path)
    }

    @Test func externalTerminalComesFromInheritFd() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let (m, s, _) = try openPty()
        defer { close(m); close(s) }
        var st = stat()
        #expect(fstat(s, &st) == 0)
        let key = "tty[\(String(UInt64(st.st_rdev), radix: 16)):\(String(UInt64(st.st_dev), radix: 16))]"
        let p = try startSleeper(fd3: s, seek: false)
        defer { p.stop() }

        // Its master is ours, outside the task: refused unless named external.
        let refused = try criu(["dump", "-t", String(p.pid), "-D", d])
        #expect(refused.status == 1 && refused.err.contains("fd 3"), "\(refused.err)")
        #expect(p.isRunning)
        let dump = try criu(["dump", "-t", String(p.pid), "-D", d, "-o", "dump.log", "--external", key])
        #expect(dump.status == 0, "\(dump.err)")
        _ = p.reap()

        var r = try criu(["restore", "-D", d, "-d", "-o", "restore.log"])
        #expect(r.status == 1 && r.err.contains("--inherit-fd fd[N]:\(key)"), "\(r.err)")
        let (m2, s2, path2) = try openPty()
        defer { close(m2); close(s2) }
        r = try criu(["restore", "-D", d, "-d", "-o", "restore.log", "--pidfile", "restored.pid",
                      "--inherit-fd", "fd[0]:\(key)"], stdin: s2)
        #expect(r.status == 0, "\(r.err)")
        let pid = try restoredPid(d)
        defer { kill(pid, SIGKILL) }
        #expect(try fdLink(pid, 3) == path2)
    }

    @Test func badInheritFdIsOneLine() throws {
        let r = try criu(["restore", "-D", "/nonexistent", "--inherit-fd", "fd3:pipe:[1]"])
        #expect(r.status == 1 && r.err.contains("expected fd[N]:KEY"), "\(r.err)")
    }
}
