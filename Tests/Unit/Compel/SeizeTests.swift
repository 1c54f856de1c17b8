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
        // fs_base from the registers is what the task's own arch_prctl(ARCH_GET_FS) says.
        let regs = try getRegisters(tid: v.pid)
        #expect(regs.fs_base != 0)
        let buf = try task.mapRemote(length: 8)
        #expect(try task.syscall(Int(SYS_arch_prctl), UInt64(CSYS_ARCH_GET_FS), buf) == 0)
        let fs = try task.readMemory(at: buf, count: 8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        #expect(fs == regs.fs_base)
        try task.cure()
        #expect(v.waitState("S"))
        #expect(tracerPid(pid: v.pid, tid: v.pid) == 0)
    }
}
