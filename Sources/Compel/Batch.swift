import CSys
import Glibc
import SystemPackage

/// One system call of a batch: its number and up to six arguments.
public struct RemoteCall: Sendable, Equatable {
    public var number: Int
    public var args: [UInt64]

    public init(_ number: Int, _ args: UInt64...) {
        self.init(number, args: args)
    }

    public init(_ number: Int, args: [UInt64]) {
        precondition(args.count <= 6, "a syscall takes at most 6 arguments")
        self.number = number
        self.args = args
    }
}

/// Memory shared with the task (a memfd mapped on both sides) that holds a batch's table: our bytes and
/// their address in the task. Arguments of the calls may point into other parts of the same memory.
public struct BatchTable {
    public let local: UnsafeMutableRawBufferPointer
    public let remote: UInt64

    public init(local: UnsafeMutableRawBufferPointer, remote: UInt64) {
        precondition(remote % 8 == 0 && Int(bitPattern: local.baseAddress) % 8 == 0, "a batch table is 8-byte aligned")
        precondition(local.count >= BatchLayout.entries + BatchLayout.entrySize * (SeizedTask.faultSignals.count + 1),
                     "a batch table holds at least one call")
        self.local = local
        self.remote = remote
    }

    /// Calls one run of the loop takes; longer batches run in several.
    public var capacity: Int { (local.count - BatchLayout.entries) / BatchLayout.entrySize - SeizedTask.faultSignals.count }
}

extension SeizedTask {
    /// Bytes of machine code `installBatchCode` writes.
    public static var batchCodeSize: Int { BatchCode.bytes.count }

    /// Writes the batch loop into memory shared with the task that is executable there (`local` is our
    /// view, `remote` the task's address). It stays for every later `runBatch` until that memory goes.
    public func installBatchCode(local: UnsafeMutableRawPointer, remote: UInt64) {
        BatchCode.bytes.withUnsafeBytes { local.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        batchCode = remote
    }

    /// The signals a fault of the loop would raise. The kernel resets the handler of a forced signal that
    /// is blocked (and we block all), so every run first reads their actions, to put them back after a fault.
    static let faultSignals: [Int32] = [SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGSYS]

    /// Runs `calls` inside the task in `thread` (the main thread by default), in order, in one round trip per
    /// `table.capacity` calls, and returns their raw results (a negative errno on failure). With
    /// `stopAtFirstError` the batch ends after the first call that fails: fewer results than calls, the
    /// last one negative. The thread's registers are put back afterwards; signals stay blocked as for
    /// `syscall`.
    ///
    /// The loop runs under PTRACE_CONT, not PTRACE_SYSCALL, so its syscalls cost no stops. Errors: a fault of
    /// the loop (the thread is put back, the faulting signal's handler and the mask restored), the task
    /// dying, `timeout`. If criu dies while a batch runs, the kernel detaches the thread inside the loop:
    /// it finishes the table and then, with `selfHealing`, takes its way back (Lifeline.swift); without,
    /// it sleeps for good.
    public func runBatch(_ calls: [RemoteCall], table: BatchTable, stopAtFirstError: Bool = false,
                         in thread: SeizedThread? = nil) throws -> [Int64] {
        let t = thread ?? mainThread
        try checkHeld(t)
        guard let code = batchCode else {
            throw CompelError(pid: t.tid, "run batch", detail: "no batch code installed (installBatchCode)")
        }
        if let sc = t.interruptedSyscall, sc.usesRestartBlock,
           let c = calls.first(where: { Self.clobbersRestartBlock($0.number) }) {
            throw CompelError(pid: t.tid, "run batch", errno: .resourceBusy,
                              detail: "thread is inside syscall \(sc.number), which resumes from its restart_block; "
                                + "syscall \(c.number) would overwrite it")
        }
        try enter(t)
        t.touched = true
        var out: [Int64] = []
        out.reserveCapacity(calls.count)
        var i = 0
        repeat {
            let n = min(calls.count - i, table.capacity)
            let got = try runOnce(calls[i..<(i + n)], table: table, code: code, stop: stopAtFirstError, t)
            out += got
            i += n
            if stopAtFirstError, let last = got.last, Self.isErrno(last) { break }
        } while i < calls.count
        return out
    }

    static func isErrno(_ r: Int64) -> Bool { r < 0 && r >= -4095 }

    /// One pass of the loop over at most `table.capacity` calls, after the reads of the fault signals' actions.
    private func runOnce(_ calls: ArraySlice<RemoteCall>, table: BatchTable, code: UInt64, stop: Bool,
                         _ t: SeizedThread) throws -> [Int64] {
        let b = table.local
        let prefix = Self.faultSignals.enumerated().map { k, sig in
            RemoteCall(Int(SYS_rt_sigaction), UInt64(sig), 0, table.remote + UInt64(BatchLayout.savedActions + 32 * k), 8)
        }
        let all = prefix + calls
        b.storeBytes(of: UInt64(all.count), toByteOffset: BatchLayout.count, as: UInt64.self)
        b.storeBytes(of: stop ? 1 : 0, toByteOffset: BatchLayout.flags, as: UInt64.self)
        b.storeBytes(of: 0, toByteOffset: BatchLayout.done, as: UInt64.self)
        b.storeBytes(of: 0, toByteOffset: BatchLayout.completed, as: UInt64.self)
        if let sp = t.lifeline?.entry, let path = healPath() {
            try RobustOwner.hold(b.baseAddress! + BatchLayout.owner)
            b.storeBytes(of: sp, toByteOffset: BatchLayout.healStack, as: UInt64.self)
            b.storeBytes(of: path.restorer, toByteOffset: BatchLayout.restorer, as: UInt64.self)
        } else {
            RobustOwner.release(b.baseAddress! + BatchLayout.owner)
            b.storeBytes(of: 0, toByteOffset: BatchLayout.owner, as: UInt32.self)
        }
        for (k, c) in all.enumerated() {
            let e = BatchLayout.entries + BatchLayout.entrySize * k
            b.storeBytes(of: UInt64(c.number), toByteOffset: e, as: UInt64.self)
            for a in 0..<6 {
                b.storeBytes(of: a < c.args.count ? c.args[a] : 0, toByteOffset: e + 8 * (a + 1), as: UInt64.self)
            }
            b.storeBytes(of: UInt64.max, toByteOffset: e + 56, as: UInt64.self)
        }

        var regs = t.resumeRegisters
        regs.rip = code
        regs.rdi = table.remote
        regs.rax = 0
        // orig_rax -1: the stop we resume from must not apply a syscall restart to these registers.
        regs.orig_rax = UInt64.max
        regs.eflags &= ~UInt64((1 << 8) | (1 << 10))  // no single-step; DF clear
        try setRegisters(tid: t.tid, regs)
        let op = "run batch of \(calls.count) syscalls"
        do {
            try ptraceChecked(CSYS_PTRACE_CONT, t.tid, nil, nil, op)
            onInjection?(.batchRunning)
            try waitForBatch(t, table: table, total: all.count, op: op)
            // The loop sleeps on its owner word: the interrupt trap gives us the thread back.
            try stopRunaway(t)
        } catch let e as BatchFault {
            throw try recover(from: e, t, table: table, prefix: prefix.count, total: all.count, op: op)
        } catch {
            try? setRegisters(tid: t.tid, parkRegisters(t))
            throw error
        }
        try setRegisters(tid: t.tid, parkRegisters(t))
        let done = Int(b.load(fromByteOffset: BatchLayout.completed, as: UInt64.self))
        guard done >= prefix.count else {
            throw CompelError(pid: t.tid, op, detail: "loop ended after \(done) of \(all.count) entries")
        }
        return (prefix.count..<done).map {
            Int64(bitPattern: b.load(fromByteOffset: BatchLayout.entries + BatchLayout.entrySize * $0 + 56, as: UInt64.self))
        }
    }

    private struct BatchFault: Error { let signal: Int32; let rip: UInt64 }

    /// Sleeps on the done word (a shared futex the loop wakes), checking between short slices whether the
    /// thread stopped instead (a fault, a stop signal) or died, until `timeout`.
    private func waitForBatch(_ t: SeizedThread, table: BatchTable, total: Int, op: String) throws {
        let word = (table.local.baseAddress! + BatchLayout.done).assumingMemoryBound(to: UInt32.self)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var slice = timespec(tv_sec: 0, tv_nsec: 2_000_000)
        while true {
            if word.pointee != 0 { return }
            _ = csys_syscall6(Int(SYS_futex), Int(bitPattern: UInt(bitPattern: word)), Int(CSYS_FUTEX_WAIT), 0,
                              withUnsafePointer(to: &slice) { Int(bitPattern: UInt(bitPattern: $0)) }, 0, 0)
            if word.pointee != 0 { return }
            var status: Int32 = 0
            let r = csys_waitpid(t.tid, &status, CSYS_WALL | CSYS_WNOHANG)
            if r == t.tid {
                let s = WaitStatus(raw: status)
                guard s.isStopped else {
                    let ran = table.local.load(fromByteOffset: BatchLayout.completed, as: UInt64.self)
                    throw CompelError(pid: t.tid, op, detail: "\(s.exitDescription), after \(ran) of \(total) entries")
                }
                if s.isSignalDeliveryStop && Self.faultSignals.contains(s.stopSignal) {
                    throw BatchFault(signal: s.stopSignal, rip: (try? getRegisters(tid: t.tid).rip) ?? 0)
                }
                // A stop signal is held back and sent again at cure; a group-stop or stray trap is passed over.
                if s.isSignalDeliveryStop { t.caughtSignals.append(s.stopSignal) }
                try ptraceChecked(CSYS_PTRACE_CONT, t.tid, nil, nil, op)
            } else if r < 0 && errno != EINTR {
                throw CompelError(pid: t.tid, op, errno: Errno(rawValue: errno), detail: "task is gone or not traced by us")
            }
            if clock.now >= deadline {
                try stopRunaway(t)
                try setRegisters(tid: t.tid, parkRegisters(t))
                throw CompelError(pid: t.tid, op, errno: .timedOut, detail: "did not finish within \(timeout); interrupted it")
            }
        }
    }

    /// After a fault in the loop the thread sits in the signal's delivery stop, which we suppress. The kernel
    /// unblocked that signal and reset its handler (it was blocked when forced): put both back.
    private func recover(from f: BatchFault, _ t: SeizedThread, table: BatchTable, prefix: Int, total: Int,
                         op: String) throws -> CompelError {
        let ran = Int(table.local.load(fromByteOffset: BatchLayout.completed, as: UInt64.self))
        var detail = "batch code faulted with signal \(f.signal) at rip 0x\(String(f.rip, radix: 16)) after \(ran) of \(total) entries"
        try setRegisters(tid: t.tid, parkRegisters(t))
        try setSigmask(tid: t.tid, ~UInt64(0))
        if ran >= prefix, let k = Self.faultSignals.firstIndex(of: f.signal) {
            let saved = Array(table.local[(BatchLayout.savedActions + 32 * k)..<(BatchLayout.savedActions + 32 * (k + 1))])
            // The table may be what went missing in the task: pass the action through a mapping of its own.
            let scratch = try mapRemote(length: 4096)
            defer { _ = try? unmapRemote(scratch) }
            try writeMemory(at: scratch, bytes: saved)
            try checkedSyscall("rt_sigaction(\(f.signal)) after batch fault", Int(SYS_rt_sigaction), UInt64(f.signal), scratch, 0, 8, in: t)
        } else {
            detail += "; the handler of signal \(f.signal) was reset to default"
        }
        return CompelError(pid: t.tid, op, detail: detail)
    }
}
