import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

/// The restore half of a parent inside vfork (docs/vfork.md): an injected clone3(CLONE_VM|CLONE_VFORK)
/// stops the parent at PTRACE_EVENT_VFORK; registers set there survive the kernel's wait for the child,
/// the parent sleeps in that wait while the child lives, and it returns the child's pid.
@Suite(.serialized) struct VforkCloneTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    @Test func parentHeldAtVforkEventWaitsForTheChildAndReturnsItsPid() throws {
        let v = try Victim(victimBin, ["pause"])
        #expect(try v.readLine() == "ready \(v.pid)")
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        var child: pid_t = 0
        defer {
            if child > 0 { _ = kill(child, SIGKILL) }
            try? task.cure()
        }
        let area = try task.mapRemote(length: 4096)
        var args = csys_clone_args()
        args.flags = UInt64(CSYS_CLONE_VM | CSYS_CLONE_VFORK)
        args.exit_signal = UInt64(SIGCHLD)
        try withUnsafeBytes(of: &args) { try task.writeMemory(at: area, from: $0) }
        child = try task.injectVforkClone3(args: area, size: UInt64(MemoryLayout<csys_clone_args>.size), reportDone: true)
        #expect(child > 0)
        let kid = try SeizedTask.adoptChild(child, timeout: .seconds(10))

        // The parent's "dumped" registers, set at the event stop: a marker in a callee-saved register.
        let back = task.mainThread.resumeRegisters
        var regs = back
        regs.r12 = 0xfeed_face_cafe_f00d
        try setRegisters(tid: v.pid, regs)
        try task.continueIntoVforkWait()
        var wchan = ""
        for _ in 0..<500 where !wchan.hasPrefix("kernel_clone") {
            wchan = (try? String(decoding: readAll("/proc/\(v.pid)/wchan"), as: UTF8.self)) ?? ""
            usleep(2000)
        }
        #expect(wchan.hasPrefix("kernel_clone"), "the parent waits for its vfork child")

        // The child exits(5) through the syscall instruction the parent used (same memory).
        var kr = try getRegisters(tid: child)
        kr.rip = try task.findSyscallSite()
        kr.rax = UInt64(SYS_exit)
        kr.orig_rax = UInt64.max
        kr.rdi = 5
        try setRegisters(tid: child, kr)
        try ptraceChecked(CSYS_PTRACE_DETACH, child, nil, nil, "PTRACE_DETACH")
        _ = kid

        try task.waitVforkDone()
        let after = try task.finishVforkClone()
        #expect(after.rax == UInt64(child))
        #expect(after.r12 == 0xfeed_face_cafe_f00d)
        #expect(after.rip == back.rip && after.rsp == back.rsp)
        // The child exited with 5: a zombie of the victim's until the victim is gone.
        let stat = String(decoding: try readAll("/proc/\(child)/stat"), as: UTF8.self)
        #expect(stat.contains(") Z "))
        #expect(stat.split(whereSeparator: { $0 == " " || $0 == "\n" }).last.flatMap { Int($0) } == 5 << 8)
        child = 0
        try task.unmapRemote(area)
        try task.cure()
        #expect(waitAsleep(v.pid))
        #expect(tracerPid(pid: v.pid, tid: v.pid) == 0)
    }
}

private func readAll(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw Errno(rawValue: errno) }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}
