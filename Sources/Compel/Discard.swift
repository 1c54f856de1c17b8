import CSys
import Glibc
import SystemPackage

/// Freeing the memory of a task that a finished dump is about to kill.
extension SeizedTask {
    /// A range of the task's address space.
    public struct Span: Equatable, Sendable {
        public var start: UInt64
        public var length: UInt64
        public init(start: UInt64, length: UInt64) {
            self.start = start
            self.length = length
        }
    }

    /// clone flags of a helper thread: a thread of the task, sharing everything.
    static let helperCloneFlags: UInt64 = UInt64(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

    /// Discards `first` in the main thread and `second` in another thread of the task at the same time
    /// (MADV_DONTNEED), so that the kill that follows finds little left to free. A killed task frees its
    /// memory on one CPU in its exit path; two threads each freeing half take less wall time (lock
    /// contention on the LRU keeps it from halving: docs/benchmarks.md).
    ///
    /// Destroys the task's memory: call it only once the dump is complete and the task is to be killed,
    /// then kill it with `killAndRelease` whether this returns or throws. PTRACE_O_EXITKILL is set first,
    /// so a criu that dies from here on takes the task with it instead of leaving it to run on without its
    /// memory. A task with one thread gets a helper thread from an injected clone; traced from its first
    /// instruction (PTRACE_O_TRACECLONE), it never runs code of its own.
    public func discardMemory(_ first: [Span], _ second: [Span]) throws {
        let main = mainThread
        try checkHeld(main)
        let opts = Int(CSYS_PTRACE_O_TRACESYSGOOD) | Int(CSYS_PTRACE_O_TRACECLONE) | Int(CSYS_PTRACE_O_EXITKILL)
        try ptraceChecked(CSYS_PTRACE_SETOPTIONS, main.tid, nil, ptraceData(opts), "PTRACE_SETOPTIONS")
        // From here a dying criu takes the task along; a way back would also be unsafe for a helper cloned
        // onto the main thread's stack.
        for t in threads where !t.detached { try disarm(t) }
        selfHealing = false
        let helper: SeizedThread
        if let t = threads.first(where: { $0.tid != pid && !$0.detached }) {
            helper = t
        } else {
            let known = Set(threads.map(\.tid))
            let r = try syscall(Int(SYS_clone), Self.helperCloneFlags, 0, 0, 0, 0)
            guard r > 0 else {
                throw CompelError(pid: pid, "clone a helper thread", errno: Errno(rawValue: Int32(truncatingIfNeeded: -r)))
            }
            // clone returns the tid in the task's pid namespace; /proc/PID/task lists it in ours.
            guard let tid = try listThreads(pid: pid).first(where: { !known.contains($0) }) else {
                throw CompelError(pid: pid, "find the helper thread", detail: "clone returned \(r), but /proc/\(pid)/task has no new thread")
            }
            helper = try adoptThread(tid)
        }
        let madvise = Int(SYS_madvise)
        for i in 0..<max(first.count, second.count) {
            let calls = [(main, i < first.count ? first[i] : nil), (helper, i < second.count ? second[i] : nil)]
            for case let (t, span?) in calls {
                try startSyscall(madvise, args: [span.start, span.length, UInt64(MADV_DONTNEED)], in: t)
            }
            for case let (t, span?) in calls {
                // Blocking: polling would take a CPU from the two threads freeing memory.
                let r = try finishSyscall(madvise, in: t, blocking: true)
                if r < 0 {
                    throw CompelError(pid: t.tid, "discard memory at 0x\(String(span.start, radix: 16))",
                                      errno: Errno(rawValue: Int32(truncatingIfNeeded: -r)))
                }
            }
        }
    }
}
