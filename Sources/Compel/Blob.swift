import CSys
import Glibc
import SystemPackage

/// Position-independent code to run inside a task: a function `long entry(void *arg)` following the
/// System V calling convention, that uses no external symbols (raw syscalls only).
public struct Blob: Sendable {
    /// The code and data, laid out from offset 0, PC-relative relocations already applied.
    public let image: [UInt8]
    public let entryOffset: Int
    /// 64-bit absolute addresses to fill in at load time: image offset and target image offset.
    let absoluteRelocations: [(offset: Int, value: Int64)]

    init(image: [UInt8], entryOffset: Int, absoluteRelocations: [(offset: Int, value: Int64)]) {
        self.image = image
        self.entryOffset = entryOffset
        self.absoluteRelocations = absoluteRelocations
    }

    /// Raw machine code, entered at `entryOffset`.
    public init(code: [UInt8], entryOffset: Int = 0) {
        self.init(image: code, entryOffset: entryOffset, absoluteRelocations: [])
    }

    /// The allocated sections of an ELF64 relocatable object, as `cc -c -fpie -nostdlib -ffreestanding`
    /// makes (.text, .rodata, .data, .bss), entered at the function named `entry`.
    public init(elfObject: [UInt8], entry: String) throws {
        self = try parseRelocatable(elfObject, entry: entry)
    }

    /// The image as it must be at `base`.
    func linked(at base: UInt64) -> [UInt8] {
        var out = image
        for r in absoluteRelocations {
            let v = base &+ UInt64(bitPattern: r.value)
            for i in 0..<8 { out[r.offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
        }
        return out
    }
}

extension SeizedTask {
    /// Loads `blob` into fresh mappings of the task, calls its entry in `thread` with `argument` in rdi (for
    /// instance a shared area's `remote` address) on a stack of its own, and returns what it returned (rax).
    /// The call returns to a `syscall` placed after the blob, whose entry stop ends the run (the syscall itself
    /// is skipped). Afterwards the mappings are gone and
    /// the thread's registers and FPU state are as before. Signals stay blocked while the blob runs.
    @discardableResult
    public func runBlob(_ blob: Blob, argument: UInt64, in thread: SeizedThread? = nil,
                        stackSize: Int = 64 * 1024) throws -> UInt64 {
        let t = thread ?? mainThread
        try checkHeld(t)
        try quietSignals(t)
        t.touched = true
        if t.savedXsave == nil { t.savedXsave = try getXsave(tid: t.tid) }
        let exitOffset = blob.image.count
        let code = try mapRemote(length: exitOffset + 2, protection: PROT_READ | PROT_WRITE | PROT_EXEC)
        defer { _ = try? unmapRemote(code) }
        let stack = try mapRemote(length: stackSize)
        defer { _ = try? unmapRemote(stack) }
        let exit = code + UInt64(exitOffset)
        try writeMemory(at: code, bytes: blob.linked(at: code) + [0x0f, 0x05])
        let stackTop = stack + pageAlign(UInt64(stackSize))
        // At entry rsp+8 is 16-byte aligned and [rsp] is the return address: our final `syscall`.
        let sp = stackTop - 16 - 8
        try writeMemory(at: sp, bytes: (0..<8).map { UInt8(truncatingIfNeeded: exit >> (8 * UInt64($0))) })

        var regs = t.resumeRegisters
        regs.rip = code + UInt64(blob.entryOffset)
        regs.rsp = sp
        regs.rdi = argument
        regs.rax = 0
        regs.orig_rax = UInt64.max
        regs.eflags &= ~UInt64((1 << 8) | (1 << 10))  // TF off; DF clear, as the ABI requires at a call
        try setRegisters(tid: t.tid, regs)
        defer {
            try? setRegisters(tid: t.tid, parkRegisters(t))
            if let x = t.savedXsave { try? setXsave(tid: t.tid, x) }
        }

        // The blob runs under PTRACE_SYSCALL: its own syscalls pass through, and its return lands on our final
        // `syscall`, whose entry stop ends the run. No signal is involved, so no handler of the task is touched.
        var result: UInt64?
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let late = CompelError(pid: t.tid, "run blob", errno: .timedOut, detail: "blob did not return within \(timeout); stopped it")
        try ptraceChecked(CSYS_PTRACE_SYSCALL, t.tid, nil, nil, "run blob")
        while true {
            let s: WaitStatus
            do {
                s = try waitForStop(t.tid, timeout: max(deadline - clock.now, .milliseconds(1)), operation: "run blob")
            } catch let e as CompelError where e.errno == .timedOut {
                try stopRunaway(t)
                throw late
            }
            if s.isSyscallStop {
                var r = try getRegisters(tid: t.tid)
                if result == nil && clock.now >= deadline {  // a blob looping over syscalls
                    try settleAtSyscallStop(t)
                    throw late
                }
                if r.rip == exit + 2 {
                    if result != nil { break }  // exit stop of the final syscall
                    result = r.orig_rax
                    r.orig_rax = UInt64.max  // skip it
                    try setRegisters(tid: t.tid, r)
                }
            } else if s.isSignalDeliveryStop {
                let sig = s.stopSignal
                let rip = (try? getRegisters(tid: t.tid).rip) ?? 0
                if [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS].contains(sig) {
                    throw CompelError(pid: t.tid, "run blob", detail: "blob faulted with signal \(sig) at rip 0x\(String(rip, radix: 16)) "
                                      + "(blob loaded at 0x\(String(code, radix: 16)))")
                }
                t.caughtSignals.append(sig)
            }
            try ptraceChecked(CSYS_PTRACE_SYSCALL, t.tid, nil, nil, "run blob")
        }
        return result!
    }

    /// Brings a thread that is still running our code back to a ptrace-stop where its registers can be
    /// replaced safely: an interrupt trap or a syscall-exit stop (an interrupted syscall reports the interrupt
    /// there). At a syscall-entry stop the pending syscall is skipped first, or it would run with whatever
    /// registers we restore.
    func stopRunaway(_ t: SeizedThread) throws {
        let op = "stop code running in the task"
        try ptraceChecked(CSYS_PTRACE_INTERRUPT, t.tid, nil, nil, op)
        while true {
            let s = try waitForStop(t.tid, timeout: timeout, operation: op)
            if s.isEventStop { return }
            if s.isSyscallStop { return try settleAtSyscallStop(t) }
            if s.isSignalDeliveryStop { t.caughtSignals.append(s.stopSignal) }
            try ptraceChecked(CSYS_PTRACE_CONT, t.tid, nil, nil, op)
        }
    }

    /// At a syscall-entry stop, skips the syscall and moves on to its exit stop; at an exit stop, nothing.
    func settleAtSyscallStop(_ t: SeizedThread) throws {
        guard try isSyscallEntry(t.tid) else { return }
        var r = try getRegisters(tid: t.tid)
        r.orig_rax = UInt64.max
        try setRegisters(tid: t.tid, r)
        try resume(t, CSYS_PTRACE_SYSCALL, until: { $0.isSyscallStop }, "skip syscall")
    }
}

/// PTRACE_GET_SYSCALL_INFO: op is 1 at a syscall-entry stop, 2 at a syscall-exit stop.
func isSyscallEntry(_ tid: pid_t) throws -> Bool {
    var info = [UInt8](repeating: 0, count: 128)
    _ = try info.withUnsafeMutableBytes { raw in
        try ptraceChecked(CSYS_PTRACE_GET_SYSCALL_INFO, tid, ptraceData(raw.count), raw.baseAddress, "PTRACE_GET_SYSCALL_INFO")
    }
    return info[0] == 1
}
