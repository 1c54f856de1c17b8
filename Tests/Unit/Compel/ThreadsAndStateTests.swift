import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

@Suite(.serialized) struct ThreadsAndStateTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    @Test func fiftyThreadsAllSeizedAndUsable() throws {
        let v = try Victim(victimBin, ["threads", "50"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        let tids = try listThreads(pid: v.pid)
        #expect(tids.count == 50)
        #expect(Set(task.threads.map(\.tid)) == Set(tids))
        for tid in tids { #expect(tracerPid(pid: v.pid, tid: tid) == pid_t(csys_syscall6(Int(SYS_gettid), 0, 0, 0, 0, 0, 0))) }
        #expect(task.threads.allSatisfy { if case .inSyscall(let sc) = $0.priorState { return sc.number == Int64(SYS_pause) } else { return false } })
        for t in task.threads where t.tid != v.pid {
            #expect(try task.syscall(Int(SYS_gettid), in: t) == Int64(t.tid))
        }
        try task.cure()
        #expect(waitAsleep(v.pid))
        for tid in tids { #expect(tracerPid(pid: v.pid, tid: tid) == 0) }
    }

    @Test func threadsCreatedDuringSeizeAreCaught() throws {
        let v = try Victim(victimBin, ["spawner"])
        _ = try v.readLine()
        usleep(20_000)
        let task = try SeizedTask.seize(v.pid)
        let tids = try listThreads(pid: v.pid)
        #expect(tids.count < 301)
        #expect(Set(task.threads.map(\.tid)) == Set(tids))
        #expect(try task.syscall(Int(SYS_getpid)) == Int64(v.pid))
        usleep(100_000)
        #expect(try listThreads(pid: v.pid).count == tids.count, "a thread ran while seized")
        try task.cure()
        #expect(try v.readLine() == "done 300")
        #expect(try listThreads(pid: v.pid).count == 301)
    }

    @Test func stoppedVictimStaysStopped() throws {
        let v = try Victim(victimBin, ["threads", "3"])
        _ = try v.readLine()
        kill(v.pid, SIGSTOP)
        #expect(v.waitState("T"))
        let task = try SeizedTask.seize(v.pid)
        #expect(task.wasStopped)
        #expect(task.threads.allSatisfy { $0.wasStopped && $0.priorState == .stopped })
        #expect(try task.syscall(Int(SYS_getpid)) == Int64(v.pid))
        #expect(try task.syscall(Int(SYS_gettid), in: task.threads.last!) == Int64(task.threads.last!.tid))
        try task.cure()
        usleep(200_000)
        for tid in try listThreads(pid: v.pid) {
            #expect(try threadState(pid: v.pid, tid: tid) == "T", "thread \(tid) runs after detach")
            #expect(tracerPid(pid: v.pid, tid: tid) == 0)
        }
        kill(v.pid, SIGCONT)
        #expect(waitAsleep(v.pid))
        #expect(v.state() == "S")
    }

    @Test func pidfdGetfdOfAPipeEnd() throws {
        let v = try Victim(victimBin, ["pipe"])
        let words = try v.readLine().split(separator: " ")
        let fd = Int32(words[2])!
        let task = try SeizedTask.seize(v.pid)
        let ours = try task.takeFd(fd)
        defer { try? ours.close() }
        try task.cure()
        var buf = [UInt8](repeating: 0, count: 64)
        let n = try buf.withUnsafeMutableBytes { try ours.read(into: $0) }
        #expect(String(decoding: buf[0..<n], as: UTF8.self) == "written by the victim")
        #expect(throws: CompelError.self) { _ = try SeizedTask.seize(v.pid).takeFd(999) }
    }
}

@Suite(.serialized) struct ErrorTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    @Test func seizeNonexistentPidIsESRCH() throws {
        // A pid that just exited and was reaped: nothing can have it yet except by wrap-around.
        let v = try Victim(victimBin, ["unknown-mode-exits"])
        _ = try v.waitExit()
        do {
            _ = try SeizedTask.seize(v.pid)
            Issue.record("seize of a gone pid succeeded")
        } catch let e as CompelError {
            #expect(e.errno == .noSuchProcess)
            #expect(e.description.contains("\(v.pid)"))
        }
    }

    @Test func seizeOfTracedTaskIsEPERM() throws {
        let v = try Victim(victimBin, ["pause"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let tracer = try Victim(victimBin, ["tracer", "\(v.pid)"])
        #expect(try tracer.readLine() == "traced \(v.pid)")
        do {
            _ = try SeizedTask.seize(v.pid)
            Issue.record("seize of a traced task succeeded")
        } catch let e as CompelError {
            #expect(e.errno == .notPermitted)
            #expect(e.description.contains("already traced by pid \(tracer.pid)"), "\(e)")
        }
        #expect(tracerPid(pid: v.pid, tid: v.pid) == tracer.pid)
        kill(tracer.pid, SIGKILL)
        _ = try tracer.waitExit()
        #expect(v.waitState("S"))
        let first = try SeizedTask.seize(v.pid)
        #expect(try first.syscall(Int(SYS_getpid)) == Int64(v.pid))
        try first.cure()
        #expect(waitAsleep(v.pid))
        #expect(tracerPid(pid: v.pid, tid: v.pid) == 0)
    }

    @Test func victimKilledWhileHeldIsAnErrorNotAHang() throws {
        let v = try Victim(victimBin, ["threads", "4"])
        _ = try v.readLine()
        let task = try SeizedTask.seize(v.pid, timeout: .seconds(3))
        kill(v.pid, SIGKILL)
        let clock = ContinuousClock()
        let t0 = clock.now
        #expect(throws: CompelError.self) {
            for _ in 0..<100 { try task.syscall(Int(SYS_getpid)) }
        }
        #expect(throws: CompelError.self) { try task.cure() }
        #expect(clock.now - t0 < .seconds(8))
        _ = try? v.waitExit()
    }
}
