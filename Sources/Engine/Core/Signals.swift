import Glibc
import CSys
import Compel
import Images

/// Signal state: handlers (per process), the blocked mask, pending signals and the alternate stack
/// (per thread).
enum Signals {
    static let maxSignal: Int32 = 64

    /// Every signal but SIGKILL and SIGSTOP, in the order the format stores sigactions.
    static var catchable: [Int32] { (1...maxSignal).filter { $0 != SIGKILL && $0 != SIGSTOP } }

    static func restoreActions(_ r: Remote, _ entries: [SaEntry]) throws {
        // The task put every action back to the pristine default (RestoreChild.resetSignalActions) before
        // it reported: only the dumped actions that differ from it cost an injected call.
        // All in one batch, each action in its own slot of the shared memory.
        let size = MemoryLayout<csys_kernel_sigaction>.size
        var calls: [(op: String, call: RemoteCall)] = []
        for (sig, e) in zip(catchable, entries) where !isPristineDefault(e) {
            var ka = csys_kernel_sigaction()
            ka.handler = e.sigaction
            ka.flags = e.flags
            ka.restorer = e.restorer
            ka.mask = e.mask
            let at = size * calls.count
            r.store(ka, at: at)
            calls.append(("rt_sigaction(\(sig))", RemoteCall(Int(SYS_rt_sigaction), UInt64(sig), r.addr(at), 0, 8)))
        }
        try r.callAll(calls)
    }

    /// SIG_DFL with no flags, mask or restorer: what exec leaves and what a reset task has.
    static func isPristineDefault(_ e: SaEntry) -> Bool {
        e.sigaction == 0 && e.flags == 0 && e.restorer == 0 && e.mask == 0
    }

    /// Sets every catchable signal of the calling task to the pristine default (run in a forked child).
    static func resetActions() throws {
        var ka = csys_kernel_sigaction()
        for sig in catchable where csys_sys_rt_sigaction(sig, &ka, nil) < 0 {
            throw EngineError("reset the action of signal \(sig)", errno: .init(rawValue: errno))
        }
    }

    /// Pending signals of one queue, as raw siginfo records (private: the thread's; shared: the process').
    static func dumpPending(tid: Int32, shared: Bool) throws -> SignalQueueEntry {
        var q = SignalQueueEntry()
        let siginfoSize = 128
        var buf = [UInt8](repeating: 0, count: siginfoSize * 32)
        var offset: UInt64 = 0
        while true {
            var args = csys_peeksiginfo_args(off: offset, flags: shared ? UInt32(CSYS_PTRACE_PEEKSIGINFO_SHARED) : 0, nr: 32)
            let n = buf.withUnsafeMutableBytes { b in
                csys_ptrace(Int(CSYS_PTRACE_PEEKSIGINFO), tid, &args, b.baseAddress)
            }
            if n < 0 {
                throw EngineError("PTRACE_PEEKSIGINFO", pid: tid, errno: .init(rawValue: errno))
            }
            if n == 0 { break }
            for i in 0..<n {
                var e = SiginfoEntry()
                e.siginfo = .init(buf[(i * siginfoSize)..<((i + 1) * siginfoSize)])
                q.signals.append(e)
            }
            offset += UInt64(n)
        }
        return q
    }

    /// Queues saved signals again: the thread's own with rt_tgsigqueueinfo, the process' with rt_sigqueueinfo.
    /// `tgid` and `tid` as the task sees them (its own pid namespace's), since the task queues them itself.
    static func restorePending(_ r: Remote, tgid: Int32, tid: Int32, _ q: SignalQueueEntry, shared: Bool) throws {
        for s in q.signals {
            guard s.siginfo.count >= 16 else { continue }
            r.storeBytes(Array(s.siginfo), at: 0)
            let signo = UInt64(r.load(Int32.self, at: 0))
            if shared {
                try r.call("rt_sigqueueinfo(\(signo))", Int32(SYS_rt_sigqueueinfo), UInt64(tgid), signo, r.addr())
            } else {
                try r.call("rt_tgsigqueueinfo(\(signo))", Int32(SYS_rt_tgsigqueueinfo), UInt64(tgid), UInt64(tid), signo, r.addr())
            }
        }
    }

    static func restoreAltStack(_ r: Remote, _ e: ThreadSasEntry) throws {
        // SS_DISABLE with no stack is the default; SS_ONSTACK is a state, not a flag one can set.
        let ssDisable: UInt32 = 2
        if e.ssFlags & ssDisable != 0 { return }
        r.zero(24)
        r.store(e.ssSp, at: 0)
        r.store(Int32(bitPattern: e.ssFlags & ~UInt32(1)), at: 8)
        r.store(e.ssSize, at: 16)
        try r.call("sigaltstack", Int32(SYS_sigaltstack), r.addr(), 0)
    }
}
