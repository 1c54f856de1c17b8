import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

/// The way back of a thread whose tracer dies mid-injection (Lifeline.swift, HealFrames.swift). A dying
/// tracer is played by detaching every thread as it is, which is what the kernel does at the tracer's exit.
@Suite(.serialized) struct LifelineTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    // MARK: layout

    @Test func epiloguesThatReturnThroughTheStack() {
        let leave: [UInt8] = [0x0f, 0x05, 0xc9, 0x31, 0xd2, 0x31, 0xc9, 0x45, 0x31, 0xc0, 0x45, 0x31, 0xdb, 0xc3]
        #expect(HealFrames.epiloguePops(leave, syscallAt: 0) == 1)
        #expect(HealFrames.epiloguePops([0x0f, 0x05, 0x31, 0xd2, 0x31, 0xff, 0x45, 0x31, 0xdb, 0xc3], syscallAt: 0) == 0)
        #expect(HealFrames.epiloguePops([0x90, 0x0f, 0x05, 0x5d, 0xc3], syscallAt: 1) == 1)
        // lea -0x10(%rbp),%rsp: not a plain epilogue; xor with a memory operand; cut short.
        #expect(HealFrames.epiloguePops([0x0f, 0x05, 0x48, 0x8d, 0x65, 0xf0, 0x5b, 0xc3], syscallAt: 0) == nil)
        #expect(HealFrames.epiloguePops([0x0f, 0x05, 0x31, 0x10, 0xc3], syscallAt: 0) == nil)
        #expect(HealFrames.epiloguePops([0x0f, 0x05, 0xc9, 0x31, 0xd2], syscallAt: 0) == nil)
        // xor %esp,%esp would lose the stack the ret needs; xor %r12d,%r12d (REX.B) is fine.
        #expect(HealFrames.epiloguePops([0x0f, 0x05, 0xc9, 0x31, 0xe4, 0xc3], syscallAt: 0) == nil)
        #expect(HealFrames.epiloguePops([0x0f, 0x05, 0xc9, 0x45, 0x31, 0xe4, 0xc3], syscallAt: 0) == 1)
    }

    @Test func restorerFoundByItsCode() {
        var code = [UInt8](repeating: 0x90, count: 300)
        code[10] = 0x0f; code[11] = 0x05  // a syscall without the mov in front
        code.replaceSubrange(200..<209, with: [0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05])
        #expect(code.withUnsafeBytes { HealFrames.restorerOffset(in: $0) } == 200)
        var short = [UInt8](repeating: 0xcc, count: 64)
        short.replaceSubrange(40..<47, with: [0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05])
        #expect(short.withUnsafeBytes { HealFrames.restorerOffset(in: $0) } == 40)
        #expect([UInt8](repeating: 0, count: 64).withUnsafeBytes { HealFrames.restorerOffset(in: $0) } == nil)
    }

    @Test func fpstateNamesItsFeaturesAndEndsInMagic() throws {
        var x = [UInt8](repeating: 0xab, count: 2440)
        for i in 464..<520 { x[i] = 0 }
        withUnsafeBytes(of: UInt64(0x207 | 1 << 18).littleEndian) { for (i, b) in $0.enumerated() { x[464 + i] = b } }
        withUnsafeBytes(of: UInt64(0x40203).littleEndian) { for (i, b) in $0.enumerated() { x[512 + i] = b } }
        let layout: [UInt32: (Int, Int)] = [2: (576, 256), 9: (2432, 8), 18: (2440, 8192)]
        let fp = try #require(HealFrames.fpstate(x) { layout[$0] ?? (0, 0) })
        func u32(_ at: Int) -> UInt32 { fp.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) } }
        func u64(_ at: Int) -> UInt64 { fp.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self) } }
        #expect(fp.count == 2444)
        #expect(u32(464) == HealFrames.magic1)
        #expect(u32(468) == 2444)
        #expect(u64(472) == 0x207, "AMX tile data is left out")
        #expect(u32(480) == 2440)
        #expect(u64(512) == 0x203, "XSTATE_BV keeps only named features")
        #expect(u32(2440) == HealFrames.magic2)
        #expect(fp[100] == 0xab)
        #expect(HealFrames.fpstate([UInt8](repeating: 0, count: 2440)) { layout[$0] ?? (0, 0) } == nil)
    }

    @Test func framesChainTheStepsToTheThreadsOwnState() {
        let base: UInt64 = 0x7ffd_0000_1000
        let path = HealPath(site: 0x7fff_1000_0927, pops: 1, restorer: 0x7f00_0003_c050)
        var own = GeneralRegisters()
        own.rip = 0x40_1234; own.rsp = 0x7ffd_0000_3000; own.rax = 42; own.rbx = 7; own.eflags = 0x246 | 0x100
        own.cs = 0x33; own.ss = 0x2b
        let steps = [RemoteCall(Int(SYS_close), 5), RemoteCall(Int(SYS_munmap), 0x7f00_1000_0000, 0x4000)]
        let fp = base + UInt64(HealFrames.fpOffset)
        let b = HealFrames.frames(base: base, fp: fp, path: path, steps: steps, final: own, mask: 0x1000)
        #expect(b.count == HealFrames.setSize)
        func u64(_ at: Int) -> UInt64 { b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self) } }
        func frame(_ k: Int) -> Int { Int(HealFrames.frame(k, base: base) - base) }
        func reg(_ k: Int, _ i: Int) -> UInt64 { u64(frame(k) + 8 + 40 + 8 * i) }  // sigcontext word i
        let (rdi, rsi, rbp, rbx, rax, rsp, rip, flags) = (8, 9, 10, 11, 13, 15, 16, 17)
        for k in 0...2 {
            #expect(u64(frame(k)) == path.restorer, "frame \(k) pretcode")
            #expect(u64(frame(k) + 8 + 40 + 184) == fp, "frame \(k) fpstate")
            #expect(b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: frame(k) + 8 + 24, as: Int32.self) } == 7)
        }
        #expect(reg(0, rip) == path.site && reg(0, rax) == UInt64(SYS_close) && reg(0, rdi) == 5)
        #expect(reg(0, rsp) == HealFrames.stack(toFrame: 1, base: base, pops: 1) && reg(0, rbp) == reg(0, rsp))
        #expect(reg(0, rsp) + 8 == HealFrames.frame(1, base: base), "leave pops one word, ret takes the next frame's pretcode")
        #expect(u64(frame(0) + 8 + 296) == ~0, "every signal blocked on the way")
        #expect(reg(1, rax) == UInt64(SYS_munmap) && reg(1, rdi) == 0x7f00_1000_0000 && reg(1, rsi) == 0x4000)
        #expect(reg(1, flags) & 0x100 == 0, "no single-step on the way")
        #expect(reg(2, rip) == own.rip && reg(2, rsp) == own.rsp && reg(2, rax) == 42 && reg(2, rbx) == 7)
        #expect(u64(frame(2) + 8 + 296) == 0x1000)
        #expect(HealFrames.frame(2, base: base) + UInt64(HealFrames.frameSize) <= base + UInt64(HealFrames.setSize))
        #expect(2 * HealFrames.setSize <= HealFrames.fpOffset && HealFrames.fpOffset % 64 == 0)
    }

    /// The area goes in the middle of the largest gap: far from the heap's growth and from where the
    /// task's own next mmap lands, which could take the range between a death and the unmap.
    @Test func areaAddressIsTheMiddleOfTheLargestGap() {
        let task = SeizedTask(pid: 999_999, wasStopped: false, timeout: .seconds(1))
        func m(_ s: UInt64, _ e: UInt64, _ p: String = "") -> MapEntry {
            MapEntry(start: s, end: e, readable: true, writable: true, executable: false, shared: false, path: p)
        }
        task.healMaps = [m(0x5555_0000_0000, 0x5555_0002_1000, "[heap]"), m(0x7f00_0000_0000, 0x7f00_0010_0000),
                         m(0x7f00_0020_0000, 0x7f00_0030_0000), m(0x7ffd_0000_0000, 0x7ffd_0002_1000, "[stack]"),
                         m(0xffff_ffff_ff60_0000, 0xffff_ffff_ff60_1000, "[vsyscall]")]
        let a = task.healAreaAddress(length: 16384)
        #expect(a == (0x5555_0002_1000 + (0x7f00_0000_0000 - 0x5555_0002_1000) / 2) & ~0xfff)
        task.healMaps = [m(0x1000, 0x3000), m(0x4000, 0x5000)]
        #expect(task.healAreaAddress(length: 16384) == nil)
    }

    // MARK: a tracer that dies

    /// What the kernel does when the tracer exits: every thread detached as it is, nothing put back.
    func abandon(_ task: SeizedTask) {
        RobustOwner.release()
        for t in task.threads where !t.detached {
            _ = csys_ptrace(Int(CSYS_PTRACE_DETACH), t.tid, nil, nil)
            t.detached = true
        }
        for a in task.sharedAreas { munmap(a.local, a.size) }
        task.sharedAreas = []
        task.cured = true
    }

    func visible(_ pid: pid_t) -> [String] {
        let maps = (try? readMaps(pid: pid))?.map { "\(String($0.start, radix: 16))-\(String($0.end, radix: 16)) \($0.path)" } ?? ["?"]
        let fds = (try? listDir("/proc/\(pid)/fd")) ?? ["?"]
        return [sigBlk(pid)] + maps + fds.sorted()
    }

    /// The victim's visible state once it is `before` again, or after a second of waiting for it.
    func visibleOnceBack(_ pid: pid_t, like before: [String]) -> [String] {
        var after: [String] = []
        for _ in 0..<100 {
            after = visible(pid)
            if after == before { break }
            usleep(10_000)
        }
        return after
    }

    func listDir(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { throw TestFailure(description: "opendir \(path)") }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let n = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if n != "." && n != ".." { out.append(n) }
        }
        return out
    }

    /// A victim holding a ymm pattern in a spin loop, seized with self-healing, a shared area, a batch and
    /// a syscall run in it; then `die` plays the tracer's death. The victim must come back by itself:
    /// same mask, mappings and fds, its vector registers intact.
    func comesBack(_ die: (SeizedTask, BatchTable) throws -> Void) throws {
        try #require(XsaveArea.cpuHasAVX, "CPU lacks AVX")
        let v = try Victim(victimBin, ["ymm"])
        let w = try v.readLine().split(separator: " ")
        let go = UInt64(w[2], radix: 16)!, loaded = UInt64(w[3], radix: 16)!
        for _ in 0..<500 where vmRead(v.pid, loaded, 4) != [1, 0, 0, 0] { usleep(10_000) }
        let before = visible(v.pid)
        let task = try SeizedTask.seize(v.pid)
        task.selfHealing = true
        try #require(task.selfHealingUnavailable == nil, "\(task.selfHealingUnavailable ?? "")")
        let area = try task.createSharedArea(size: 16384, executable: true)
        task.installBatchCode(local: area.local, remote: area.remote)
        let table = BatchTable(local: UnsafeMutableRawBufferPointer(rebasing: area.bytes[1024...]), remote: area.remote + 1024)
        #expect(try task.runBatch([RemoteCall(Int(SYS_getpid)), RemoteCall(Int(SYS_getppid))], table: table) == [Int64(v.pid), Int64(getpid())])
        #expect(try task.syscall(Int(SYS_getppid)) == Int64(getpid()))
        #expect(task.mainThread.lifeline != nil)
        #expect(visible(v.pid) != before, "signals blocked and the area mapped while we inject")
        try die(task, table)
        abandon(task)
        #expect(visibleOnceBack(v.pid, like: before) == before)
        var one: UInt32 = 1
        let wrote = withUnsafeMutableBytes(of: &one) { b in
            var l = iovec(iov_base: b.baseAddress, iov_len: 4)
            var r = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(go)), iov_len: 4)
            return csys_sys_process_vm_writev(v.pid, &l, 1, &r, 1)
        }
        #expect(wrote == 4)
        #expect(try v.readLine() == "vec ok")
        #expect(try v.waitExit() == 0)
    }

    @Test func threadWaitingBetweenCallsComesBack() throws {
        try comesBack { _, _ in }
    }

    @Test func threadInsideASyscallComesBack() throws {
        try comesBack { task, _ in
            let t = task.mainThread
            try task.startSyscall(Int(SYS_getppid), args: [], in: t)
            // At the syscall-exit stop: detached there, it returns into the vdso epilogue.
            try task.awaitStop(t, CSYS_PTRACE_SYSCALL, until: { $0.isSyscallStop }, "syscall exit")
        }
    }

    @Test func sleepingBatchLoopComesBackWhenItsOwnerDies() throws {
        try comesBack { task, table in
            let t = task.mainThread
            // Back into the loop's sleep, on an owner word held by a "tracer" that then dies.
            let word = (table.local.baseAddress! + BatchLayout.owner).assumingMemoryBound(to: UInt32.self)
            word.pointee = 12345
            var regs = t.resumeRegisters
            regs.rip = task.batchCode! + 0x72
            regs.rbx = table.remote
            regs.orig_rax = UInt64.max
            try setRegisters(tid: t.tid, regs)
            try ptraceChecked(CSYS_PTRACE_CONT, t.tid, nil, nil, "PTRACE_CONT")
            for _ in 0..<200 where word.pointee & 0x8000_0000 == 0 { usleep(1000) }
            usleep(20_000)
            #expect((try? threadState(pid: task.pid, tid: t.tid)) == "S", "the loop sleeps on the owner word")
            // What the kernel does to the word of a thread that exits holding it.
            word.pointee = 0x8000_0000 | 0x4000_0000
            _ = csys_syscall6(Int(SYS_futex), Int(bitPattern: UInt(bitPattern: word)), Int(CSYS_FUTEX_WAKE), 1, 0, 0, 0)
            usleep(20_000)
            // Hold it again for the detach; wherever it is now, it goes on by itself.
            try ptraceChecked(CSYS_PTRACE_INTERRUPT, t.tid, nil, nil, "PTRACE_INTERRUPT")
            _ = try waitForStop(t.tid, timeout: .seconds(5), operation: "stop")
        }
    }

    /// A victim asleep in pause(), seized with self-healing; `die(task, pid, event)` is the injection hook
    /// and plays the tracer's death at the moment it picks. Creating the shared area then fails, and the
    /// victim must be as before, still in its pause().
    func pausedVictimComesBack(timeout: Duration = .seconds(10),
                               _ die: @escaping (SeizedTask, pid_t, InjectionEvent) -> Void) throws {
        let v = try Victim(victimBin, ["pause"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let before = visible(v.pid)
        let task = try SeizedTask.seize(v.pid)
        task.selfHealing = true
        task.timeout = timeout
        // Captures the pid, not the Victim: the victim must still be killed when the test ends.
        let pid = v.pid
        task.onInjection = { [unowned task] in die(task, pid, $0) }
        #expect(throws: CompelError.self) { _ = try task.createSharedArea(size: 16384, executable: true) }
        #expect(visibleOnceBack(v.pid, like: before) == before)
        #expect((try? threadState(pid: v.pid, tid: v.pid)) == "S", "still in its pause()")
    }

    @Test func memfdOpenInTheTaskIsClosedOnTheWayBack() throws {
        try pausedVictimComesBack { task, _, event in
            if event == .memfdOpen { self.abandon(task) }
        }
    }

    /// Dying at memfd_create's exit stop, before criu put the new descriptor on the way back: the call
    /// returns into the stub that closes it.
    @Test func memfdJustCreatedIsClosedByTheStub() throws {
        // criu's wait for the exit stop, which never comes after the detach, is cut short.
        try pausedVictimComesBack(timeout: .milliseconds(300)) { task, pid, event in
            guard event == .syscallRunning(Int(SYS_memfd_create)) else { return }
            _ = try? waitForStop(pid, timeout: .seconds(5), operation: "memfd_create exit")
            self.abandon(task)
        }
    }

    /// The steps on the way back follow what is really left: none once the area is gone, and a thread
    /// without a way back owns no step, so no other thread unmaps the area under its batch.
    @Test func stepsFollowTheAreaAndTheOwner() throws {
        let v = try Victim(victimBin, ["threads", "2"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        task.selfHealing = true
        let area = try task.createSharedArea(size: 16384, executable: true)
        #expect(task.healUnmap?.addr == area.remote && task.healClose == nil)
        #expect(task.healOwner === task.mainThread)
        let other = try #require(task.threads.first { $0.tid != v.pid })
        task.unarmed.append((other.tid, "test: no room"))
        try task.syscall(Int(SYS_getppid), in: other)
        #expect(other.lifeline == nil && task.healOwner == nil, "nobody unmaps while an unarmed thread uses the area")
        try task.syscall(Int(SYS_getppid))
        #expect(task.healOwner === task.mainThread)
        try task.destroySharedArea(area)
        #expect(task.healUnmap == nil)
        try task.settle()
        #expect(task.mainThread.lifeline == nil)
        try task.cure()
        #expect(sigBlk(v.pid) == "SigBlk:\t0000000000000000")
    }

    @Test func sleepRestartsInsteadOfFailing() throws {
        let v = try Victim(victimBin, ["sleep", "300"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        task.selfHealing = true
        let t = task.mainThread
        #expect(t.interruptedSyscall?.usesRestartBlock == true)
        try task.syscall(Int(SYS_getppid))
        abandon(task)
        let w = try v.readLine().split(separator: " ")
        #expect(w[0] == "slept" && w[1] == "0" && w[2] == "0", "nanosleep returns 0, not EINTR: \(w)")
        #expect(try v.waitExit() == 0)
    }
}
