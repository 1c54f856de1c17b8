import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

@Suite(.serialized) struct SeizeTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    @Test func remoteGetpidAndGettid() throws {
        let v = try Victim(victimBin, ["pause"])
        #expect(try v.readLine() == "ready \(v.pid)")
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        #expect(try task.usesVdsoSyscall)
        #expect(try task.syscall(Int(SYS_getpid)) == Int64(v.pid))
        #expect(try task.syscall(Int(SYS_gettid)) == Int64(v.pid))
        #expect(try task.syscall(Int(SYS_getppid)) == Int64(getpid()))
        try task.cure()
        #expect(v.waitState("S"))
        #expect(tracerPid(pid: v.pid, tid: v.pid) == 0)
    }
}
