import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

@Suite(.serialized) struct BlockingInjectionTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    /// An injected syscall that blocks (read on the victim's empty stdin) ends in a timeout error, and the
    /// thread is brought back so the task can still be used and cured.
    @Test func blockingInjectedSyscallTimesOut() throws {
        let v = try Victim(victimBin, ["read"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid, timeout: .milliseconds(500))
        let buf = try task.mapRemote(length: 4096)
        do {
            try task.syscall(Int(SYS_read), 0, buf, 16)
            Issue.record("a read of an empty pipe returned")
        } catch let e as CompelError {
            #expect(e.errno == .timedOut)
        }
        #expect(try task.syscall(Int(SYS_getpid)) == Int64(v.pid))
        try task.cure()
        #expect(!v.hasOutput(withinMs: 100))
        v.send("data\n")
        #expect(try v.readLine() == "read 4 0 data")
        #expect(try v.waitExit() == 0)
    }
}
