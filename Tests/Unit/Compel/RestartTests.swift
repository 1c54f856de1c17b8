import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

/// Victims blocked in restartable syscalls must carry on after cure as if never stopped: no EINTR, and a
/// sleep lasts its full time. Each test injects syscalls so the thread leaves through our syscall's exit.
@Suite(.serialized) struct RestartTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    func holdAndInject(_ pid: pid_t, tid: pid_t? = nil, holdMs: UInt32 = 200) throws -> InterruptedSyscall? {
        let task = try SeizedTask.seize(pid)
        let t = task.thread(tid ?? pid)!
        for _ in 0..<10 { #expect(try task.syscall(Int(SYS_gettid), in: t) == Int64(t.tid)) }
        usleep(holdMs * 1000)
        try task.cure()
        return t.interruptedSyscall
    }

    @Test func readOnPipeGetsItsDataAfterCure() throws {
        let v = try Victim(victimBin, ["read"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let sc = try holdAndInject(v.pid)
        #expect(sc?.number == Int64(SYS_read))
        #expect(sc?.restartCode == 512)
        #expect(!v.hasOutput(withinMs: 100), "read returned before any data arrived")
        v.send("hello\n")
        #expect(try v.readLine() == "read 5 0 hello")
        #expect(try v.waitExit() == 0)
    }

    /// A signal sent while we hold an untouched thread gets the kernel's usual treatment after cure: the
    /// handler runs and the read (no SA_RESTART) fails with EINTR, exactly as without us.
    @Test func signalWhileHeldIsDeliveredAfterCure() throws {
        let v = try Victim(victimBin, ["read-usr1"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        kill(v.pid, SIGUSR1)
        #expect(!v.hasOutput(withinMs: 100), "handler ran while the task was held")
        try task.cure()
        #expect(try v.readLine() == "usr1")
        #expect(try v.readLine() == "read -1 4 ")
        #expect(try v.waitExit() == 0)
    }

    /// With syscalls injected, signals are blocked while held and the handler runs after cure.
    @Test func signalWhileInjectingRunsHandlerAfterCure() throws {
        let v = try Victim(victimBin, ["read-usr1"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        try task.syscall(Int(SYS_getpid))
        kill(v.pid, SIGUSR1)
        for _ in 0..<20 { try task.syscall(Int(SYS_getpid)) }
        #expect(!v.hasOutput(withinMs: 100), "handler ran while the task was held")
        try task.cure()
        #expect(try v.readLine() == "usr1")
        // The read was restarted before the signal came (see docs/compel.md), so it goes on waiting for data.
        v.send("x\n")
        #expect(try v.readLine() == "read 1 0 x")
        #expect(try v.waitExit() == 0)
    }

    @Test func nanosleepLastsItsFullTime() throws {
        let v = try Victim(victimBin, ["sleep", "1500"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let sc = try holdAndInject(v.pid, holdMs: 300)
        #expect(sc?.usesRestartBlock == true)
        let parts = try v.readLine(timeoutMs: 5000).split(separator: " ")
        #expect(parts.count == 4 && parts[0] == "slept")
        #expect(parts[1] == "0" && parts[2] == "0", "nanosleep returned \(parts[1]) errno \(parts[2])")
        let ms = Double(parts[3]) ?? 0
        #expect(ms >= 1490 && ms < 2500, "slept \(ms) ms instead of 1500")
        #expect(try v.waitExit() == 0)
    }

    @Test(arguments: ["futex", "futex-timeout"])
    func futexWaitWakesOnWake(mode: String) throws {
        let v = try Victim(victimBin, [mode])
        let first = try v.readLine(), second = try v.readLine()
        let waiterLine = [first, second].first(where: { $0.hasPrefix("waiter") })!
        let waiter = pid_t(waiterLine.split(separator: " ")[1])!
        #expect(waitAsleep(v.pid))
        let sc = try holdAndInject(v.pid, tid: waiter)
        #expect(sc?.number == Int64(SYS_futex))
        #expect(sc?.usesRestartBlock == (mode == "futex-timeout"))
        #expect(!v.hasOutput(withinMs: 100), "futex wait returned before the wake")
        v.send("w")
        #expect(try v.readLine() == "woken 0 0 word 1")
        #expect(try v.waitExit() == 0)
    }

    @Test func restartBlockIsProtectedFromClobbering() throws {
        let v = try Victim(victimBin, ["sleep", "800"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        #expect(throws: CompelError.self) { try task.syscall(Int(SYS_nanosleep), 0, 0) }
        try task.cure()
        let parts = try v.readLine(timeoutMs: 5000).split(separator: " ")
        #expect(parts[1] == "0" && parts[2] == "0")
        #expect((Double(parts[3]) ?? 0) >= 790)
    }
}
