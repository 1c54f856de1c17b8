import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

/// FNV-1a over every writable mapping, skipping the kernel-owned rseq area (the kernel rewrites it on every
/// return to user space).
func writableMemoryChecksum(_ task: SeizedTask, skip: ClosedRange<UInt64>?) throws -> (UInt64, Int) {
    var h: UInt64 = 0xcbf29ce484222325
    var total = 0
    for m in try readMaps(pid: task.pid) where m.writable {
        let bytes = try task.readMemory(at: m.start, count: Int(m.end - m.start))
        total += bytes.count
        bytes.withUnsafeBufferPointer { buf in
            for (i, b) in buf.enumerated() {
                if let skip, skip.contains(m.start + UInt64(i)) { continue }
                h = (h ^ UInt64(b)) &* 0x100000001b3
            }
        }
    }
    return (h, total)
}

/// The SigBlk line of /proc/PID/status.
func sigBlk(_ pid: pid_t) -> String {
    (try? readProcText("/proc/\(pid)/status", pid: pid))?.split(separator: "\n").first { $0.hasPrefix("SigBlk:") }.map(String.init) ?? "?"
}

func rseqArea(_ tid: pid_t) -> ClosedRange<UInt64>? {
    var conf = csys_rseq_configuration()
    guard csys_ptrace(Int(CSYS_PTRACE_GET_RSEQ_CONFIGURATION), tid, ptraceData(MemoryLayout.size(ofValue: conf)), &conf) > 0,
          conf.rseq_abi_pointer != 0 else { return nil }
    return conf.rseq_abi_pointer...(conf.rseq_abi_pointer + UInt64(max(conf.rseq_abi_size, 32)) - 1)
}

@Suite(.serialized) struct RegisterStateTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    @Test func thousandSyscallsChangeNothing() throws {
        let v = try Victim(victimBin, ["compute"])
        _ = try v.readLine()
        usleep(50_000)
        let sigBlk0 = sigBlk(v.pid)
        let task = try SeizedTask.seize(v.pid)
        let t = task.mainThread
        let regs0 = try getRegisters(tid: t.tid)
        let x0 = try getXsave(tid: t.tid)
        let skip = rseqArea(t.tid)
        let (sum0, total) = try writableMemoryChecksum(task, skip: skip)
        #expect(total > 100_000)
        #expect(x0.bytes.count == Int(csys_xsave_size()), "xsave area \(x0.bytes.count) bytes, CPUID says \(csys_xsave_size())")
        for i in 0..<1000 {
            let nr = [SYS_getpid, SYS_getppid, SYS_gettid, SYS_getuid][i % 4]
            let r = try task.syscall(Int(nr))
            #expect(r > 0 || nr == SYS_getuid)
        }
        #expect(try getRegisters(tid: t.tid) == t.resumeRegisters)
        if t.interruptedSyscall == nil { #expect(try getRegisters(tid: t.tid) == regs0) }
        #expect(try getXsave(tid: t.tid) == x0)
        #expect(try writableMemoryChecksum(task, skip: skip).0 == sum0)
        #expect(sigBlk(v.pid) != sigBlk0, "signals are blocked while we inject")
        try task.cure()
        #expect(sigBlk(v.pid) == sigBlk0)
        usleep(100_000)
        v.send("q")
        let line = try v.readLine()
        #expect(line.hasPrefix("ok "), "victim says: \(line)")
        #expect(try v.waitExit() == 0)
    }

    /// Seize, check the pattern through Compel's xsave view, inject, release the victim, and let it check.
    func vectorRoundTrip(mode: String, expected: (XsaveArea) -> Bool) throws {
        let v = try Victim(victimBin, [mode])
        let w = try v.readLine().split(separator: " ")
        let go = UInt64(w[2], radix: 16)!, loaded = UInt64(w[3], radix: 16)!
        var isLoaded = false
        for _ in 0..<500 where !isLoaded {
            isLoaded = vmRead(v.pid, loaded, 4) == [1, 0, 0, 0]
            if !isLoaded { usleep(10_000) }
        }
        #expect(isLoaded)
        let task = try SeizedTask.seize(v.pid)
        let x0 = try getXsave(tid: v.pid)
        #expect(expected(x0))
        for _ in 0..<100 { try task.syscall(Int(SYS_getppid)) }
        #expect(try getXsave(tid: v.pid) == x0)
        try task.writeMemory(at: go, bytes: [1, 0, 0, 0])
        try task.cure()
        #expect(try v.readLine() == "vec ok")
        #expect(try v.waitExit() == 0)
    }

    @Test func ymmRegistersKeptAndRead() throws {
        try #require(XsaveArea.cpuHasAVX, "CPU lacks AVX")
        try vectorRoundTrip(mode: "ymm") { x in
            (0..<16).allSatisfy { i in x.ymm(i) == (0..<32).map { UInt8(truncatingIfNeeded: (32 * i + $0) ^ 0x5a) } }
        }
    }

    @Test(.enabled(if: XsaveArea.cpuHasAVX512F, "CPU lacks avx512f: zmm/opmask test skipped"))
    func zmmRegistersKeptAndRead() throws {
        try vectorRoundTrip(mode: "zmm") { x in
            (0..<32).allSatisfy { i in x.zmm(i) == (0..<64).map { UInt8(truncatingIfNeeded: (64 * i + $0) ^ 0xa5) } }
                && (1..<8).allSatisfy { k in
                    x.opmask(k) == (0..<8).reduce(UInt64(0)) { $0 | UInt64(UInt8(truncatingIfNeeded: (2048 + 8 * k + $1) ^ 0xa5)) << (8 * UInt64($1)) }
                }
        }
    }
}
