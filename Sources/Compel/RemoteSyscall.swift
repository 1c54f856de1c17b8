import CSys
import Glibc
import SystemPackage

extension SeizedTask {
    /// Runs one system call inside the task, in `thread` (the main thread by default), and returns the
    /// kernel's raw result (a negative errno on failure). The thread's registers are put back afterwards.
    ///
    /// The call executes a `syscall` instruction found in the task's vdso, so nothing in its memory changes.
    @discardableResult
    public func syscall(_ number: Int, _ args: UInt64..., in thread: SeizedThread? = nil) throws -> Int64 {
        try syscall(number, args: args, in: thread)
    }

    @discardableResult
    public func syscall(_ number: Int, args: [UInt64], in thread: SeizedThread? = nil) throws -> Int64 {
        let t = thread ?? mainThread
        try startSyscall(number, args: args, in: t)
        return try finishSyscall(number, in: t)
    }

    /// A syscall whose epilogue, should criu die before the exit stop is handled, returns through
    /// `stack` (rsp and rbp) instead of the thread's way back.
    /// The thread stays at the syscall-exit stop, not parked: the caller moves it.
    func syscall(_ number: Int, args: [UInt64], in t: SeizedThread, returningTo stack: UInt64) throws -> Int64 {
        try startSyscall(number, args: args, in: t, returnStack: stack)
        do {
            return try finishSyscall(number, in: t, park: false)
        } catch {
            try? setRegisters(tid: t.tid, parkRegisters(t))
            throw error
        }
    }

    /// Sets the thread up for the call and lets it run into the kernel; `finishSyscall` collects the result.
    /// Between the two the thread runs on its own, so calls in different threads can overlap.
    func startSyscall(_ number: Int, args: [UInt64], in t: SeizedThread, returnStack: UInt64? = nil) throws {
        precondition(args.count <= 6, "a syscall takes at most 6 arguments")
        try checkHeld(t)
        if let sc = t.interruptedSyscall, sc.usesRestartBlock, Self.clobbersRestartBlock(number) {
            throw CompelError(pid: t.tid, "inject syscall \(number)", errno: .resourceBusy,
                              detail: "thread is inside syscall \(sc.number), which resumes from its restart_block; "
                                + "syscall \(number) would overwrite it")
        }
        try enter(t)
        // An armed thread must run at the site whose epilogue was checked, whatever site was cached before.
        let site: UInt64
        if t.lifeline != nil, let h = healPath() { site = h.site } else { site = try findSyscallSite() }
        t.touched = true
        var regs = t.resumeRegisters
        regs.rax = UInt64(number)
        // orig_rax -1: the stop we resume from must not apply a syscall restart to these registers.
        regs.orig_rax = UInt64.max
        regs.rip = site
        let a = args + [UInt64](repeating: 0, count: 6 - args.count)
        regs.rdi = a[0]; regs.rsi = a[1]; regs.rdx = a[2]; regs.r10 = a[3]; regs.r8 = a[4]; regs.r9 = a[5]
        if let sp = returnStack ?? healStack(t) { regs.rsp = sp; regs.rbp = sp }
        try setRegisters(tid: t.tid, regs)
        do {
            try dropStep(number, args)
            try resume(t, CSYS_PTRACE_SYSCALL, until: { $0.isSyscallStop }, "syscall \(number): run to syscall entry")
            try ptraceChecked(CSYS_PTRACE_SYSCALL, t.tid, nil, nil, "syscall \(number): run")
        } catch {
            try? setRegisters(tid: t.tid, parkRegisters(t))
            throw error
        }
        onInjection?(.syscallRunning(number))
    }

    /// Waits for the syscall-exit stop of a call `startSyscall` began, parks the thread (its own registers,
    /// or its way back: Lifeline.swift) and returns the kernel's raw result. `blocking`: wait in waitpid,
    /// without a timeout, for a call that cannot block in the task.
    func finishSyscall(_ number: Int, in t: SeizedThread, blocking: Bool = false, park: Bool = true) throws -> Int64 {
        defer { if park { try? setRegisters(tid: t.tid, parkRegisters(t)) } }
        try awaitStop(t, CSYS_PTRACE_SYSCALL, until: { $0.isSyscallStop }, "syscall \(number): run to syscall exit",
                      blocking: blocking)
        return Int64(bitPattern: try getRegisters(tid: t.tid).rax)
    }

    /// Syscalls that write the thread's restart_block, which a pending ERESTART_RESTARTBLOCK still needs.
    static func clobbersRestartBlock(_ nr: Int) -> Bool {
        [Int(SYS_nanosleep), Int(SYS_clock_nanosleep), Int(SYS_futex), Int(SYS_poll), Int(SYS_ppoll),
         Int(SYS_select), Int(SYS_pselect6), Int(SYS_restart_syscall), Int(SYS_rt_sigreturn)].contains(nr)
    }

    func checkHeld(_ t: SeizedThread) throws {
        if cured || t.detached { throw CompelError(pid: t.tid, "use seized thread", detail: "already cured and detached") }
    }

    /// Resumes the thread with `request` until a stop `until` accepts. Signals the thread would take meanwhile
    /// are held back and sent again at cure; other stops (a group-stop, a stray trap) are stepped over.
    func resume(_ t: SeizedThread, _ request: Int32, until done: (WaitStatus) -> Bool, _ op: String) throws {
        try ptraceChecked(request, t.tid, nil, nil, op)
        try awaitStop(t, request, until: done, op)
    }

    /// The waiting half of `resume`, for a thread already running.
    func awaitStop(_ t: SeizedThread, _ request: Int32, until done: (WaitStatus) -> Bool, _ op: String,
                   blocking: Bool = false) throws {
        while true {
            let s: WaitStatus
            do {
                s = blocking ? try waitForStopBlocking(t.tid, operation: op) : try waitForStop(t.tid, timeout: timeout, operation: op)
            } catch let e as CompelError
                where e.errno == .timedOut {
                // Our syscall blocks: interrupt it, so the thread is back in a stop where cure can reach it.
                try stopRunaway(t)
                throw CompelError(pid: t.tid, op, errno: .timedOut, detail: "did not finish within \(timeout); interrupted it")
            }
            if done(s) { return }
            if s.isSignalDeliveryStop { t.caughtSignals.append(s.stopSignal) }
            try ptraceChecked(request, t.tid, nil, nil, op)
        }
    }

    /// Makes the thread ready for code of ours, in this order: its way back written (with selfHealing),
    /// the way back's steps its own, every signal blocked.
    func enter(_ t: SeizedThread) throws {
        try arm(t)
        try takeHealOwnership(t)
        try quietSignals(t)
    }

    /// Blocks every signal in the thread while we run our code in it, so that no handler of the task runs on
    /// our registers; cure restores the original mask.
    func quietSignals(_ t: SeizedThread) throws {
        guard t.savedSigmask == nil else { return }
        let old = try getSigmask(tid: t.tid)
        try setSigmask(tid: t.tid, ~UInt64(0))
        t.savedSigmask = old
    }

    /// The address of a `syscall` instruction in the task: one inside its vdso, or, when it has none, two
    /// bytes we write over the start of its first executable mapping (put back at cure).
    func findSyscallSite() throws -> UInt64 {
        if let s = syscallSite { return s }
        if let h = healPath() {
            syscallSite = h.site
            return h.site
        }
        let maps = try readMaps(pid: pid)
        if let vdso = maps.first(where: { $0.path == "[vdso]" }) {
            let bytes = try readMemory(at: vdso.start, count: Int(vdso.end - vdso.start))
            for i in 0..<(bytes.count - 1) where bytes[i] == 0x0f && bytes[i + 1] == 0x05 {
                syscallSite = vdso.start + UInt64(i)
                return syscallSite!
            }
        }
        guard let text = maps.first(where: { $0.executable && $0.path != "[vsyscall]" }) else {
            throw CompelError(pid: pid, "find a syscall instruction", detail: "task has neither a vdso nor executable mappings")
        }
        let original = try readMemory(at: text.start, count: 2)
        try writeMemory(at: text.start, bytes: [0x0f, 0x05])
        patchedSite = (text.start, original)
        syscallSite = text.start
        return text.start
    }

    /// Whether injected syscalls go through the task's own vdso (false: through a patched instruction).
    public var usesVdsoSyscall: Bool {
        get throws { _ = try findSyscallSite(); return patchedSite == nil }
    }
}
