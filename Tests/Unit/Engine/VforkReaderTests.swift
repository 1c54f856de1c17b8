import CSys
import Compel
import Glibc
import Images
import Testing
@testable import Engine

/// The BPF task reader (docs/vfork.md): BTF lookups on the running kernel's BTF, the instruction encoding,
/// and what it reads of real threads, checked against ptrace for a stopped one and against
/// /proc/PID/syscall for a parent asleep in vfork() (which ptrace cannot stop).
@Suite(.serialized) struct VforkReaderTests {
    static let btf = Result { try BTF.loadVmlinux() }

    @Test func btfFindsNestedAndAnonymousMembers() throws {
        let btf = try Self.btf.get()
        #expect(btf.id(of: "bpf_iter_task", kind: .function) != nil)
        #expect(btf.id(of: "no_such_function_here", kind: .function) == nil)
        let thread = try btf.offset(of: "thread", in: "task_struct").offset
        let fsbase = try btf.offset(of: "fsbase", in: "thread_struct").offset
        #expect(try btf.offset(of: "thread.fsbase", in: "task_struct").offset == thread + fsbase)
        // sk_buff starts with anonymous unions/structs: next, prev, then dev inside another anonymous union.
        #expect(try btf.offset(of: "next", in: "sk_buff").offset == 0)
        #expect(try btf.offset(of: "prev", in: "sk_buff").offset == 8)
        #expect(try btf.offset(of: "dev", in: "sk_buff").offset == 16)
        #expect(try btf.structSize("k_sigaction") == 32)
        #expect(try btf.offset(of: "sa.sa_mask", in: "k_sigaction").offset == 24)
        #expect(throws: EngineError.self) { try btf.offset(of: "thread.no_such_member", in: "task_struct") }
        let bits = try btf.bitfield("is_valloc", in: "fpstate")
        #expect(bits.width == 1)
    }

    @Test func btfRefusesGarbage() {
        #expect(throws: EngineError.self) { try BTF(bytes: [1, 2, 3]) }
        #expect(throws: EngineError.self) { try BTF(bytes: [0x9f, 0xeb, 1, 0, 24, 0, 0, 0] + [UInt8](repeating: 0xff, count: 16)) }
    }

    @Test func assemblerEncodesAndResolvesJumps() throws {
        var a = BPFAssembler()
        a.load64(.r6, .r1, 8)              // r6 = *(u64 *)(r1 + 8)
        a.jumpIfEqual(.r6, 0, "out")       // if r6 == 0 goto out (+2)
        a.mov(.r1, .r10)
        a.add(.r1, -16)
        a.label("out")
        a.mov(.r0, 0)
        a.exit()
        let code = try a.assemble()
        let bytes = code.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        #expect(bytes == [0x79, 0x16, 0x08, 0x00, 0, 0, 0, 0,
                          0x15, 0x06, 0x02, 0x00, 0, 0, 0, 0,
                          0xbf, 0xa1, 0x00, 0x00, 0, 0, 0, 0,
                          0x07, 0x01, 0x00, 0x00, 0xf0, 0xff, 0xff, 0xff,
                          0xb7, 0x00, 0x00, 0x00, 0, 0, 0, 0,
                          0x95, 0x00, 0x00, 0x00, 0, 0, 0, 0])
        var bad = BPFAssembler()
        bad.jumpIfNotEqual(.r0, 0, "nowhere")
        #expect(throws: EngineError.self) { try bad.assemble() }
    }

    @Test func compactedXsaveOffsetsFollowAlignment() {
        // Components 2 (260 bytes), 5 (64-byte aligned) and 9; 3 and 4 absent from XCOMP_BV.
        let sizes = [2: (260, false), 3: (64, false), 4: (64, false), 5: (64, true), 9: (8, false)]
        let offs = XsaveLayout.compactedOffsets(xcomp: 1 << 63 | 1 << 9 | 1 << 5 | 1 << 2 | 3) { i in
            let (size, aligned) = sizes[i] ?? (0, false)
            return XsaveLayout.Component(index: i, size: size, standardOffset: 0, aligned: aligned, supervisor: false)
        }
        #expect(offs == [2: 576, 5: 896, 9: 960])
    }

    @Test func readsAStoppedThreadAsPtraceDoes() throws {
        let v = try VforkVictim(mode: "stopped")
        defer { v.stop() }
        let reader = try TaskKernelReader(btf: try Self.btf.get())
        let task = try SeizedTask.seize(v.pid)
        defer { try? task.cure() }
        let b = try BlockedThread.read(tid: v.pid, reader: reader)
        #expect(b.regs == (try getRegisters(tid: v.pid)))
        #expect(b.blocked == (try getSigmask(tid: v.pid)))
        let x = try getXsave(tid: v.pid)
        #expect(x.bytes.count == b.xsave.bytes.count)
        let diffs = zip(x.bytes, b.xsave.bytes).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(diffs.isEmpty, "xsave bytes differ at \(diffs.prefix(16)): ptrace \(x.bytes[464..<488]) bpf \(b.xsave.bytes[464..<488])")
        #expect(b.blocked & (1 << (UInt64(SIGUSR1) - 1)) != 0)
        let intr = b.actions[Int(SIGINT) - 1]
        #expect(intr.handler > 0x1000 && intr.flags & UInt64(SA_RESTART) != 0 && intr.mask & (1 << (UInt64(SIGUSR2) - 1)) != 0)
        #expect(b.altStack.size == 65536 && b.altStack.sp != 0)
        #expect(b.rseq.length >= 32 && b.rseq.signature == 0x53053053)
        #expect(b.clearChildTid != 0 && b.robustList != 0)
    }

    /// Waits until the victim sleeps in vfork (its wchan says so).
    static func waitInVfork(_ pid: Int32) -> Bool {
        var wchan = ""
        for _ in 0..<500 where !wchan.hasPrefix("kernel_clone") {
            wchan = (try? ProcFile.readText("/proc/\(pid)/wchan")) ?? ""
            usleep(2000)
        }
        return wchan.hasPrefix("kernel_clone")
    }

    @Test func processStateOfAParentInVfork() throws {
        let quiet = try VforkVictim(mode: "vfork-quiet")
        defer { quiet.stop() }
        #expect(Self.waitInVfork(quiet.pid))
        let child = try #require(VforkCheck.child(of: quiet.pid))
        let reader = try TaskKernelReader(btf: try Self.btf.get())
        let p = try BlockedProcess.read(tid: quiet.pid, reader: reader)
        #expect(p.childSubreaper && p.realValueNs == 0 && !p.cpuItimerArmed)
        #expect(p.securebits == UInt32(csys_prctl(27, 0, 0, 0, 0)), "inherited from this test process")
        let state = try VforkParent.read(pid: quiet.pid, child: child)
        let core = try VforkParent.core(pid: quiet.pid, vforkChild: child, state)
        #expect(core.tc.vforkChild == UInt32(child) && core.tc.childSubreaper)
        // The queued SIGUSR1 with its sender's value, on the process' queue; the thread's own is empty.
        let queued = try BlockedSignals.read(tid: quiet.pid, shared: true, reader: reader)
        try #require(queued.count == 1 && queued[0].count == 128)
        #expect(le32(queued[0], 0) == UInt32(SIGUSR1) && Int32(bitPattern: le32(queued[0], 8)) == -1, "SI_QUEUE")
        #expect(le32(queued[0], 16) == UInt32(quiet.pid) && le32(queued[0], 24) == 7)
        #expect(try BlockedSignals.read(tid: quiet.pid, shared: false, reader: reader).isEmpty)
        #expect(core.tc.signalsS.signals.map { Array($0.siginfo) } == queued)
        // The field (1001, our extension) survives the image encoding; every required field is set.
        let bytes: [UInt8] = try core.serializedBytes()
        #expect(try CoreEntry(serializedBytes: bytes).tc.vforkChild == UInt32(child))
        #expect(core.tc.sigactions.count == 62 && core.threadCore.sas.ssFlags == 2, "no alternate stack: SS_DISABLE")
        #expect(core.threadInfo.gpregs.origAx == UInt64(SYS_vfork))

        // alarm(60) before vfork: ITIMER_REAL with up to 60 s left and no interval, as getitimer would say.
        let armed = try VforkVictim(mode: "vfork")
        defer { armed.stop() }
        #expect(Self.waitInVfork(armed.pid))
        let t = try BlockedProcess.read(tid: armed.pid, reader: reader)
        #expect(t.realValueNs > 50_000_000_000 && t.realValueNs <= 60_000_000_000 && t.realIntervalNs == 0 && !t.cpuItimerArmed)
        let armedChild = try #require(VforkCheck.child(of: armed.pid))
        let armedCore = try VforkParent.core(pid: armed.pid, vforkChild: armedChild, try VforkParent.read(pid: armed.pid, child: armedChild))
        #expect(armedCore.tc.timers.real.vsec >= 50 && armedCore.tc.timers.real.vsec < 60 && armedCore.tc.timers.real.isec == 0)
    }

    @Test func readsAParentAsleepInVfork() throws {
        let v = try VforkVictim(mode: "vfork")
        defer { v.stop() }
        #expect(Self.waitInVfork(v.pid))
        let reader = try TaskKernelReader(btf: try Self.btf.get())
        let b = try BlockedThread.read(tid: v.pid, reader: reader)
        let sc = try ProcFile.readText("/proc/\(v.pid)/syscall").split(whereSeparator: { $0 == " " || $0 == "\n" })
        try #require(sc.count == 9)
        #expect(Int(sc[0]) == Int(SYS_vfork))
        #expect(UInt64(sc[7].dropFirst(2), radix: 16) == b.regs.rsp)
        #expect(UInt64(sc[8].dropFirst(2), radix: 16) == b.regs.rip)
        #expect(b.regs.orig_rax == UInt64(SYS_vfork))
        #expect(b.regs.fs_base != 0 && b.xsave.bytes.count == Int(csys_xsave_size()))
        #expect(throws: EngineError.self) { try reader.read(tid: 0x3fff_fff0, [.init(.userRegs, offset: 0, length: 168)]) }
    }
}

/// A C victim (compiled once per run) started with a pipe on stdin and stdout: "stopped" sets up signal
/// state and sleeps; "vfork" vforks a child that waits on stdin, so the parent sleeps in vfork().
final class VforkVictim {
    static let source = """
    #define _GNU_SOURCE
    #include <signal.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>
    #include <sys/prctl.h>
    #include <sys/syscall.h>
    #include <sys/wait.h>
    static void h(int s) { (void)s; }
    int main(int argc, char **argv) {
        if (argc > 1 && !strcmp(argv[1], "vfork-quiet")) {
            prctl(PR_SET_CHILD_SUBREAPER, 1);     /* and no timer */
            sigset_t b;
            sigemptyset(&b);
            sigaddset(&b, SIGUSR1);
            sigprocmask(SIG_BLOCK, &b, 0);
            sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 7 });
        } else {
            alarm(60);
        }
        if (argc > 1 && !strncmp(argv[1], "vfork", 5)) {
            pid_t c = vfork();
            if (c == 0) {
                char b = 'r';
                syscall(SYS_write, 1, &b, 1);
                syscall(SYS_read, 0, &b, 1);
                syscall(SYS_exit, 7);
            }
            int st;
            return waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : 1;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = h;
        sa.sa_flags = SA_RESTART;
        sigaddset(&sa.sa_mask, SIGUSR2);
        sigaction(SIGINT, &sa, 0);
        stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536 };
        sigaltstack(&ss, 0);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGUSR1);
        sigprocmask(SIG_BLOCK, &m, 0);
        __asm__ volatile("vmovq %0, %%xmm7; vpbroadcastq %%xmm7, %%ymm7" :: "r"(0x1122334455667788ULL) : "xmm7");
        if (write(1, "r", 1) != 1) return 1;
        for (;;) pause();
    }
    """
    static let dir = "/tmp/vfork-reader-test-\(getpid())"
    static let binary = Result { () throws -> String in
        mkdir(dir, 0o700)
        atexit {
            unlink(VforkVictim.dir + "/victim")
            rmdir(VforkVictim.dir)
        }
        let src = dir + "/victim.c", bin = dir + "/victim"
        let fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw EngineError("write victim source", path: src, errno: .init(rawValue: errno)) }
        _ = Array(source.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let st = try spawnWait(["/usr/bin/cc", "-O1", "-mavx2", "-o", bin, src])
        unlink(src)
        guard st == 0 else { throw EngineError("compile victim", path: src, reason: "cc exited with \(st)") }
        return bin
    }

    let pid: pid_t
    private var toChild: Int32
    private let fromChild: Int32

    init(mode: String) throws {
        let bin = try Self.binary.get()
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0 else { throw EngineError("pipe", errno: .init(rawValue: errno)) }
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_adddup2(&fa, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&fa, outPipe[1], 1)
        for fd in [inPipe[1], outPipe[0]] { posix_spawn_file_actions_addclose(&fa, fd) }
        var p: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(bin), strdup(mode), nil]
        defer { argv.forEach { free($0) } }
        let r = posix_spawn(&p, bin, &fa, nil, argv, Glibc.environ)
        close(inPipe[0]); close(outPipe[1])
        guard r == 0 else { close(inPipe[1]); close(outPipe[0]); throw EngineError("spawn victim", errno: .init(rawValue: r)) }
        pid = p; toChild = inPipe[1]; fromChild = outPipe[0]
        var b: UInt8 = 0
        guard read(fromChild, &b, 1) == 1 else { stop(); throw EngineError("victim", pid: p, reason: "died before it was ready") }
    }

    /// Kills the victim; a vforked child still waiting on stdin then reads EOF and exits.
    func stop() {
        let kids = (try? Tasks.children(pid: pid)) ?? []
        _ = kill(pid, SIGKILL)
        for k in kids { _ = kill(k, SIGKILL) }
        if toChild >= 0 { close(toChild); toChild = -1 }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
    }

    deinit { close(fromChild) }
}

func spawnWait(_ argv: [String]) throws -> Int32 {
    var pid: pid_t = 0
    let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    let r = posix_spawn(&pid, argv[0], nil, nil, cargs, Glibc.environ)
    guard r == 0 else { throw EngineError("spawn \(argv[0])", errno: .init(rawValue: r)) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status
}
