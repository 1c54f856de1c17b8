import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

/// Batches of syscalls run inside a victim by the loop in Batch.swift, in one round trip.
@Suite(.serialized) struct BatchTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    /// An executable shared area: the loop at its start, the table after it.
    func setUp(_ task: SeizedTask, size: Int = 16384) throws -> (SharedArea, BatchTable) {
        let area = try task.createSharedArea(size: size, executable: true)
        task.installBatchCode(local: area.local, remote: area.remote)
        let table = BatchTable(local: UnsafeMutableRawBufferPointer(rebasing: area.bytes[1024...]), remote: area.remote + 1024)
        return (area, table)
    }

    func sigBlk(_ pid: pid_t) throws -> String {
        let s = try readProcText("/proc/\(pid)/status")
        return String(s.split(separator: "\n").first { $0.hasPrefix("SigBlk:") } ?? "")
    }

    @Test func resultsErrnosAndWritesIntoSharedArea() throws {
        let v = try Victim(victimBin, ["read"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        let (area, table) = try setUp(task)
        let cwd = try readLink("/proc/\(v.pid)/cwd")
        let r = try task.runBatch([
            RemoteCall(Int(SYS_getpid)),
            RemoteCall(Int(SYS_close), UInt64(bitPattern: -1)),
            RemoteCall(Int(SYS_getcwd), area.remote + 512, 256),
            RemoteCall(Int(SYS_getppid)),
        ], table: table)
        #expect(r.count == 4)
        #expect(r[0] == Int64(v.pid))
        #expect(r[1] == -Int64(EBADF))
        #expect(r[2] == Int64(cwd.utf8.count + 1))
        #expect(String(cString: area.local.advanced(by: 512).assumingMemoryBound(to: CChar.self)) == cwd)
        #expect(r[3] == Int64(getpid()))
        // The thread resumes its read as if nothing had happened.
        try task.cure()
        v.send("x\n")
        #expect(try v.readLine() == "read 1 0 x")
        #expect(try v.waitExit() == 0)
    }

    @Test func stopsAtFirstErrorAndSpansSeveralRuns() throws {
        let v = try Victim(victimBin, ["pause"])
        _ = try v.readLine()
        let task = try SeizedTask.seize(v.pid)
        let (_, table) = try setUp(task, size: 4096)
        let calls = [RemoteCall(Int(SYS_getpid)), RemoteCall(Int(SYS_close), UInt64(bitPattern: -1)), RemoteCall(Int(SYS_getpid))]
        let stopped = try task.runBatch(calls, table: table, stopAtFirstError: true)
        #expect(stopped == [Int64(v.pid), -Int64(EBADF)])
        let all = try task.runBatch(calls, table: table)
        #expect(all == [Int64(v.pid), -Int64(EBADF), Int64(v.pid)])
        // More calls than one table holds: several runs, in order, and a stop in a later run ends it all.
        #expect(table.capacity < 100)
        var many = Array(repeating: RemoteCall(Int(SYS_getpid)), count: 250)
        #expect(try task.runBatch(many, table: table) == Array(repeating: Int64(v.pid), count: 250))
        many[150] = RemoteCall(Int(SYS_close), UInt64(bitPattern: -1))
        let cut = try task.runBatch(many, table: table, stopAtFirstError: true)
        #expect(cut.count == 151 && cut.last == -Int64(EBADF))
        try task.cure()
        #expect(waitAsleep(v.pid), "the victim did not go back to its pause()")
    }

    @Test func taskKilledMidBatch() throws {
        let v = try Victim(victimBin, ["pause"])
        _ = try v.readLine()
        let task = try SeizedTask.seize(v.pid)
        let (_, table) = try setUp(task)
        do {
            _ = try task.runBatch([RemoteCall(Int(SYS_getpid)), RemoteCall(Int(SYS_kill), UInt64(v.pid), UInt64(SIGKILL)),
                                   RemoteCall(Int(SYS_getpid))], table: table)
            Issue.record("a batch that kills its task returned")
        } catch let e as CompelError {
            #expect(e.description.contains("killed by signal 9"), "\(e)")
        }
        _ = try? task.cure()
    }

    @Test func timeoutInterruptsTheBatch() throws {
        let v = try Victim(victimBin, ["read"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid, timeout: .milliseconds(300))
        let (area, table) = try setUp(task)
        do {
            _ = try task.runBatch([RemoteCall(Int(SYS_read), 0, area.remote + 512, 16)], table: table)
            Issue.record("a read of an empty pipe returned")
        } catch let e as CompelError {
            #expect(e.errno == .timedOut)
        }
        #expect(try task.runBatch([RemoteCall(Int(SYS_getpid))], table: table) == [Int64(v.pid)])
        try task.cure()
        v.send("data\n")
        #expect(try v.readLine() == "read 4 0 data")
        #expect(try v.waitExit() == 0)
    }

    /// The batch unmaps its own code and table: the loop faults. The task's SIGSEGV handler (which the kernel
    /// resets when it forces a blocked signal) and its mask are as before, and it runs on.
    @Test func faultLeavesHandlerAndMaskUnchanged() throws {
        let v = try Victim(victimBin, ["segv-handler"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let blkBefore = try sigBlk(v.pid)
        let task = try SeizedTask.seize(v.pid)
        let probe = try task.mapRemote(length: 4096)
        try task.syscall(Int(SYS_rt_sigaction), UInt64(SIGSEGV), 0, probe, 8)
        let before = try task.readMemory(at: probe, count: 32)
        #expect(before[0..<8] != [0, 0, 0, 0, 0, 0, 0, 0])
        let (area, table) = try setUp(task)
        do {
            _ = try task.runBatch([RemoteCall(Int(SYS_getpid)), RemoteCall(Int(SYS_munmap), area.remote, UInt64(area.size)),
                                   RemoteCall(Int(SYS_getpid))], table: table)
            Issue.record("a batch that unmapped itself returned")
        } catch let e as CompelError {
            #expect(e.description.contains("faulted with signal \(SIGSEGV)"), "\(e)")
            #expect(e.description.contains("after 7 of 9"), "\(e)")
        }
        try task.syscall(Int(SYS_rt_sigaction), UInt64(SIGSEGV), 0, probe, 8)
        #expect(try task.readMemory(at: probe, count: 32) == before)
        try task.cure()
        #expect(waitAsleep(v.pid), "the victim did not go back to its pause()")
        #expect(try sigBlk(v.pid) == blkBefore)
    }

    @Test func withoutCodeItIsAnError() throws {
        let v = try Victim(victimBin, ["pause"])
        _ = try v.readLine()
        let task = try SeizedTask.seize(v.pid)
        let area = try task.createSharedArea(size: 4096)
        let table = BatchTable(local: area.bytes, remote: area.remote)
        #expect(throws: CompelError.self) { try task.runBatch([RemoteCall(Int(SYS_getpid))], table: table) }
        try task.cure()
    }
}

func readProcText(_ path: String) throws -> String {
    String(decoding: try readFileBytes(path), as: UTF8.self)
}

func readLink(_ path: String) throws -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink(path, &buf, buf.count - 1)
    guard n >= 0 else { throw TestFailure(description: "readlink \(path)") }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
