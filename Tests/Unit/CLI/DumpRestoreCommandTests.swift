import Testing
import Foundation

/// The dump and restore commands on real processes this test starts and kills itself.
@Suite(.serialized) struct DumpRestoreCommandTests {
    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "criu-cli-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// A `sleep` with nothing but /dev/null open (the test process' own fds are closed first), as a
    /// dumpable test victim. Spawned and reaped by hand: Foundation's Process watches its children with a
    /// thread of its own, which gets in the way of ptrace.
    struct Sleeper {
        let pid: pid_t
        var isRunning: Bool { kill(pid, 0) == 0 && !((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z ") ?? true) }
        func reap() -> Int32 {
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            return st
        }
        func stop() {
            kill(pid, SIGKILL)
            _ = reap()
        }
    }

    func startSleeper() throws -> Sleeper {
        let script = "for f in /proc/$$/fd/*; do n=${f##*/}; [ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done; exec sleep 100"
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        var pid: pid_t = 0
        let args: [String] = ["/bin/bash", "-c", script]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        argv.append(nil)
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/bash", &fa, nil, argv, environ) == 0 else { throw CocoaError(.executableLoad) }
        // wait until bash has become sleep
        for _ in 0..<200 {
            if (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "sleep\n" { break }
            usleep(10_000)
        }
        return Sleeper(pid: pid)
    }

    @Test func refusesInitAndItsOwnAncestors() throws {
        for pid in ["1", String(getpid())] {
            let d = try tempDir()
            defer { try? FileManager.default.removeItem(atPath: d) }
            let r = try runCriu(["dump", "-t", pid, "-D", d])
            #expect(r.status == 1, "pid \(pid)")
            #expect(r.err.contains("refusing to dump the init process") || r.err.contains("criu itself or one of its ancestors"),
                    "\(r.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: d).isEmpty)
        }
    }

    @Test func leaveRunningThenRestoreIntoTakenPidFailsUpFront() throws {
        let p = try startSleeper()
        defer { p.stop() }
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let dump = try runCriu(["dump", "-t", String(p.pid), "-D", d, "--leave-running"])
        #expect(dump.status == 0, "\(dump.err) \(dump.out)")
        #expect(p.isRunning)
        let status = try String(contentsOfFile: "/proc/\(p.pid)/status", encoding: .utf8)
        #expect(status.contains("TracerPid:\t0"))
        let restore = try runCriu(["restore", "-D", d, "-d"])
        #expect(restore.status == 1)
        #expect(restore.err.contains("pid \(p.pid) is in use"), "\(restore.err)")
        #expect(!FileManager.default.fileExists(atPath: d + "/stats-restore"))
    }

    @Test func dumpKillsThenRestoreBringsItBack() throws {
        let p = try startSleeper()
        let pid = p.pid
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let dump = try runCriu(["dump", "-t", String(pid), "-D", d, "-o", "dump.log", "-v4"])
        #expect(dump.status == 0, "\(dump.err) \(dump.out)")
        let st = p.reap()
        #expect(st & 0x7f == SIGKILL, "wait status \(st)")
        let restore = try runCriu(["restore", "-D", d, "-d", "--pidfile", "restored.pid"])
        #expect(restore.status == 0, "\(restore.err)")
        let pidText = try String(contentsOfFile: d + "/restored.pid", encoding: .utf8)
        #expect(pidText == String(pid))
        defer { kill(pid, SIGKILL) }
        let comm = try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
        #expect(comm == "sleep\n")
        #expect(FileManager.default.fileExists(atPath: d + "/stats-restore"))
    }

    @Test func badImagesDirectoryIsOneLine() throws {
        let r = try runCriu(["restore", "-D", "/nonexistent-criu-dir", "-d"])
        #expect(r.status == 1)
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains("inventory.img"), "\(r.err)")
    }
}
