import CSys
import Glibc

/// The way back of a thread whose tracer died while the thread ran injected code: a `syscall` whose
/// epilogue returns through the stack, and an rt_sigreturn restorer of the task's own (Lifeline.swift).
public struct HealPath: Equatable, Sendable {
    /// A `syscall` instruction in the vdso whose epilogue ends in `ret` without touching memory.
    public let site: UInt64
    /// Stack words that epilogue pops before its `ret` (1 after `leave` or `pop %rbp`, else 0).
    public let pops: Int
    /// `mov $15, %rax; syscall` (glibc's __restore_rt and its kin) in an executable mapping of the task.
    public let restorer: UInt64
}

/// Signal frames written below a thread's stack pointer (past the red zone, where the kernel puts its own).
/// Frame k holds the registers of step k + 1 of the way back: a syscall at the site (close our memfd,
/// unmap our area), whose epilogue `ret`s into the restorer, which rt_sigreturns into the next frame. The
/// last frame holds the thread's own registers, signal mask and FPU state. Layout only, no syscalls.
enum HealFrames {
    /// pretcode + ucontext (304) + siginfo (128): the kernel's struct rt_sigframe on x86-64.
    static let frameSize = 440
    /// A slot for the word `leave` pops, the frame, padding to 16.
    static let stride = 464
    /// Syscalls before the last frame: close the memfd, unmap the area.
    static let maxSteps = 2
    /// One set of frames. A region holds two: a rewrite goes into the set no register points at, and
    /// only then are the thread's registers moved onto it, so a death never meets half-written frames.
    static let setSize = stride * (maxSteps + 1)
    /// The XSAVE image every frame points at, 64-byte aligned for XRSTOR.
    static let fpOffset = (2 * setSize + 63) & ~63
    static let magic1: UInt32 = 0x4650_5853  // FP_XSTATE_MAGIC1
    static let magic2: UInt32 = 0x4650_5845  // FP_XSTATE_MAGIC2
    /// uc_flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS.
    static let ucFlags: UInt64 = 7
    /// An ss_flags value sigaltstack rejects (EINVAL), so rt_sigreturn leaves the thread's altstack alone.
    static let keepAltstack: Int32 = 7

    static func regionSize(fpstateSize: Int) -> Int { (fpOffset + fpstateSize + 63) & ~63 }

    /// Where frame k starts (its pretcode) in a region at `base`.
    static func frame(_ k: Int, base: UInt64) -> UInt64 { base + UInt64(k * stride + 8) }

    /// rsp and rbp for a syscall at the site whose epilogue must `ret` into the restorer with frame k above.
    static func stack(toFrame k: Int, base: UInt64, pops: Int) -> UInt64 { frame(k, base: base) - UInt64(8 * pops) }

    /// One set of frames at `base` (`setSize` bytes): `steps` run in order, then `final` comes back, with
    /// the FPU state at `fp`.
    static func frames(base: UInt64, fp: UInt64, path: HealPath, steps: [RemoteCall], final: GeneralRegisters,
                       mask: UInt64) -> [UInt8] {
        precondition(steps.count <= maxSteps)
        var out = [UInt8](repeating: 0, count: setSize)
        for k in 0...steps.count {
            var regs = final
            var m = mask
            if k < steps.count {
                let c = steps[k]
                let a = c.args + [UInt64](repeating: 0, count: 6 - c.args.count)
                regs.rip = path.site
                regs.rax = UInt64(c.number)
                regs.rdi = a[0]; regs.rsi = a[1]; regs.rdx = a[2]; regs.r10 = a[3]; regs.r8 = a[4]; regs.r9 = a[5]
                regs.rsp = stack(toFrame: k + 1, base: base, pops: path.pops)
                regs.rbp = regs.rsp
                regs.eflags &= ~UInt64((1 << 8) | (1 << 10))  // no single-step; DF clear
                m = ~0
            }
            let at = Int(frame(k, base: base) - base)
            write(&out, at, path.restorer)
            writeContext(&out, at + 8, regs, mask: m, fpstate: fp)
        }
        return out
    }

    /// struct ucontext at `at`: flags, no link, an altstack rt_sigreturn ignores, the sigcontext, the mask.
    private static func writeContext(_ b: inout [UInt8], _ at: Int, _ r: GeneralRegisters, mask: UInt64, fpstate: UInt64) {
        write(&b, at, ucFlags)
        write(&b, at + 24, UInt32(bitPattern: keepAltstack))
        let mc = at + 40
        let gprs: [UInt64] = [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx,
                              r.rdx, r.rax, r.rcx, r.rsp, r.rip, r.eflags]
        for (i, v) in gprs.enumerated() { write(&b, mc + 8 * i, v) }
        write(&b, mc + 144, UInt16(truncatingIfNeeded: r.cs))
        write(&b, mc + 146, UInt16(truncatingIfNeeded: r.gs))
        write(&b, mc + 148, UInt16(truncatingIfNeeded: r.fs))
        write(&b, mc + 150, UInt16(truncatingIfNeeded: r.ss))
        write(&b, mc + 184, fpstate)
        write(&b, at + 296, mask)
    }

    /// The thread's XSAVE area (as PTRACE_GETREGSET gives it) as a sigreturn fpstate: the software bytes
    /// name the features and size, FP_XSTATE_MAGIC2 follows. The features are those ptrace names (XCR0 in
    /// the first word of the software bytes, or a signal frame's own software bytes). Dynamically enabled
    /// state (AMX tile data, component 18) is left out: rt_sigreturn refuses an image larger than a task
    /// without that permission has. nil when the area names no features.
    static func fpstate(_ xsave: [UInt8], component: (UInt32) -> (offset: Int, size: Int)) -> [UInt8]? {
        guard xsave.count >= 576 else { return nil }
        let named = load(UInt32.self, xsave, 464) == magic1 ? load(UInt64.self, xsave, 472) : load(UInt64.self, xsave, 464)
        guard named & 3 == 3 else { return nil }  // x87 and SSE are always there
        let features = named & ~(UInt64(1) << 18)
        var size = 576
        for n in UInt32(2)..<63 where features & (UInt64(1) << UInt64(n)) != 0 {
            let (off, sz) = component(n)
            size = max(size, off + sz)
        }
        guard size <= xsave.count else { return nil }
        var out = Array(xsave[0..<size])
        for i in 464..<512 { out[i] = 0 }
        write(&out, 464, magic1)
        write(&out, 468, UInt32(size + 4))
        write(&out, 472, features)
        write(&out, 480, UInt32(size))
        write(&out, 512, load(UInt64.self, xsave, 512) & features)
        out += withUnsafeBytes(of: magic2.littleEndian, Array.init)
        return out
    }

    /// Words the epilogue of a `syscall` at `i` pops before it returns, or nil when the code after it is
    /// not just an optional `leave`/`pop %rbp`, register-only xors and `ret`.
    static func epiloguePops(_ code: [UInt8], syscallAt i: Int) -> Int? {
        var p = i + 2
        guard p < code.count else { return nil }
        var pops = 0
        if code[p] == 0xc9 || code[p] == 0x5d { pops = 1; p += 1 }  // leave / pop %rbp
        while p < code.count {
            if code[p] == 0xc3 { return pops }
            // xor r32, r32 (register operands, destination not %esp/%rsp: the ret needs the stack pointer)
            if code[p] == 0x31, p + 1 < code.count, code[p + 1] >= 0xc0, code[p + 1] & 7 != 4 { p += 2; continue }
            if code[p] & 0xf0 == 0x40, p + 2 < code.count, code[p + 1] == 0x31, code[p + 2] >= 0xc0,
               code[p + 2] & 7 != 4 || code[p] & 1 != 0 { p += 3; continue }
            return nil
        }
        return nil
    }

    /// Offset of an rt_sigreturn restorer (`mov $15, %rax` or `mov $15, %eax`, then `syscall`) in `code`.
    static func restorerOffset(in code: UnsafeRawBufferPointer) -> Int? {
        for pattern: [UInt8] in [[0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05], [0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05]] {
            guard let base = code.baseAddress, code.count >= pattern.count else { continue }
            let hit = pattern.withUnsafeBytes { csys_memmem(base, code.count, $0.baseAddress, $0.count) }
            if let hit { return base.distance(to: UnsafeRawPointer(hit)) }
        }
        return nil
    }

    private static func write<T: FixedWidthInteger>(_ b: inout [UInt8], _ at: Int, _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[at + i] = x } }
    }

    private static func load<T: FixedWidthInteger>(_: T.Type, _ b: [UInt8], _ at: Int) -> T {
        b.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
    }
}
