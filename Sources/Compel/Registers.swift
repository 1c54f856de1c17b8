import CSys
import Glibc
import SystemPackage

/// The general registers of x86-64 (the kernel's user_regs_struct), including fs_base and gs_base.
public typealias GeneralRegisters = user_regs_struct

extension user_regs_struct: @retroactive Equatable {
    public static func == (a: user_regs_struct, b: user_regs_struct) -> Bool {
        withUnsafeBytes(of: a) { x in withUnsafeBytes(of: b) { y in x.elementsEqual(y) } }
    }
}

/// Reads a stopped thread's general registers.
public func getRegisters(tid: pid_t) throws -> GeneralRegisters {
    var regs = user_regs_struct()
    try ptraceChecked(CSYS_PTRACE_GETREGS, tid, nil, &regs, "PTRACE_GETREGS")
    return regs
}

/// Writes a stopped thread's general registers.
public func setRegisters(tid: pid_t, _ regs: GeneralRegisters) throws {
    var r = regs
    try ptraceChecked(CSYS_PTRACE_SETREGS, tid, nil, &r, "PTRACE_SETREGS")
}

/// Why a thread stopped inside a system call, and how the kernel would have restarted it.
public struct InterruptedSyscall: Sendable, Equatable {
    /// The syscall number (orig_rax).
    public let number: Int64
    /// The kernel-internal code in rax: 512 ERESTARTSYS, 513 ERESTARTNOINTR, 514 ERESTARTNOHAND,
    /// 516 ERESTART_RESTARTBLOCK.
    public let restartCode: Int32
    /// ERESTART_RESTARTBLOCK restarts through restart_syscall(), which resumes from the thread's restart_block.
    public var usesRestartBlock: Bool { restartCode == CSYS_ERESTART_RESTARTBLOCK }
}

/// If the registers of a stopped thread show a syscall that was interrupted and will be restarted, returns
/// it, with the registers the thread must resume with so that it re-enters that syscall.
///
/// The kernel applies the restart (rax = orig_rax, rip -= 2) only on its signal path after the stop. Once we
/// run a syscall in the thread, the thread leaves through that syscall's exit path instead, which does not
/// restart anything, so we apply the restart ourselves and resume at the `syscall` instruction.
func restartAdjusted(_ regs: GeneralRegisters) -> (GeneralRegisters, InterruptedSyscall?) {
    let orig = Int64(bitPattern: regs.orig_rax)
    let ret = Int64(bitPattern: regs.rax)
    guard orig >= 0 else { return (regs, nil) }
    var r = regs
    let code = Int32(truncatingIfNeeded: -ret)
    switch code {
    case CSYS_ERESTARTSYS, CSYS_ERESTARTNOINTR, CSYS_ERESTARTNOHAND:
        r.rax = regs.orig_rax
    case CSYS_ERESTART_RESTARTBLOCK:
        r.rax = UInt64(CSYS_NR_restart_syscall)
    default:
        return (regs, nil)
    }
    r.rip = regs.rip &- 2
    // No syscall is in progress any more: orig_rax -1 keeps the kernel's own restart logic off these regs.
    r.orig_rax = UInt64.max
    return (r, InterruptedSyscall(number: orig, restartCode: code))
}

/// Reads the blocked-signal mask of a stopped thread (bit n-1 is signal n).
public func getSigmask(tid: pid_t) throws -> UInt64 {
    var mask: UInt64 = 0
    try ptraceChecked(CSYS_PTRACE_GETSIGMASK, tid, ptraceData(8), &mask, "PTRACE_GETSIGMASK")
    return mask
}

public func setSigmask(tid: pid_t, _ mask: UInt64) throws {
    var m = mask
    try ptraceChecked(CSYS_PTRACE_SETSIGMASK, tid, ptraceData(8), &m, "PTRACE_SETSIGMASK")
}
