import Glibc
import CSys

/// The pending signals of a thread ptrace cannot stop (a parent asleep in vfork), with their siginfo, as
/// PTRACE_PEEKSIGINFO gives them for a stopped one: the kernel keeps each queued signal as a `sigqueue`
/// on the circular list of `task->pending` (the thread's own) or `signal->shared_pending` (the process'),
/// oldest first. The reader follows that list a fixed number of steps; a step that comes back to the
/// list head ends it.
enum BlockedSignals {
    /// Longest queue read; a longer one is refused rather than cut.
    static let maxQueued = 16
    static let siginfoSize = 128

    /// Each pending signal's siginfo in the 128-byte user layout (the kernel's part, zeros after it).
    static func read(tid: Int32, shared: Bool, reader: TaskKernelReader) throws -> [[UInt8]] {
        let btf = reader.btf
        let prefix: [Int], list: Int, mask: Int
        if shared {
            prefix = [try btf.offset(of: "signal", in: "task_struct").offset]
            list = try btf.offset(of: "shared_pending", in: "signal_struct").offset
            mask = try btf.offset(of: "shared_pending.signal", in: "signal_struct").offset
        } else {
            prefix = []
            list = try btf.offset(of: "pending", in: "task_struct").offset
            mask = try btf.offset(of: "pending.signal", in: "task_struct").offset
        }
        let info = try btf.offset(of: "info", in: "sigqueue").offset
        let infoSize = try btf.structSize("kernel_siginfo")
        guard infoSize <= siginfoSize else {
            throw EngineError("read pending signals", pid: tid, reason: "kernel_siginfo of \(infoSize) bytes")
        }
        var reads: [TaskKernelReader.Read] = [
            .init(.task(derefs: prefix), offset: mask, length: 8),
            .init(.task(derefs: prefix), offset: list, length: 8),             // head.next: the first entry
            .init(.task(derefs: prefix + [list]), offset: 8, length: 8),       // its prev: the head itself
        ]
        for i in 0...maxQueued {
            let at: TaskKernelReader.Base = i == 0 ? .task(derefs: prefix + [list]) : .previous(derefs: [0])
            reads.append(.init(at, offset: 0, length: 8))                      // next entry
            reads.append(.init(.previous(derefs: []), offset: info, length: infoSize))
        }
        let p = try reader.read(tid: tid, reads)
        let pending = le64(p[0], 0), head = le64(p[2], 0)
        var out: [[UInt8]] = []
        var entry = le64(p[1], 0)
        for i in 0...maxQueued {
            if entry == head { break }
            if i == maxQueued {
                throw EngineError("read pending signals", pid: tid, reason: "more than \(maxQueued) signals queued")
            }
            out.append(p[4 + 2 * i] + [UInt8](repeating: 0, count: siginfoSize - infoSize))
            entry = le64(p[3 + 2 * i], 0)
        }
        // A signal can be pending without a queue entry (SIGKILL/SIGSTOP, or when the kernel could not
        // allocate one); it would come back without its siginfo.
        var queued: UInt64 = 0
        for s in out { let signo = le32(s, 0); if signo >= 1 && signo <= 64 { queued |= 1 << UInt64(signo - 1) } }
        if pending & ~queued != 0 {
            throw EngineError("read pending signals", pid: tid, reason: "signal mask \(String(pending, radix: 16)) has signals without a queued siginfo (queued \(String(queued, radix: 16)))")
        }
        return out
    }
}
