import Glibc
import CSys

/// Process-wide state of a parent asleep in vfork that only an injected call would otherwise give:
/// securebits (prctl), the child-subreaper flag (prctl) and whether an interval timer is armed
/// (getitimer works only on the caller). Read with TaskKernelReader like BlockedThread.
struct BlockedProcess {
    var securebits: UInt32
    var childSubreaper: Bool
    /// ITIMER_REAL queued or with an interval, or a CPU itimer (virtual, prof) with an expiry.
    var itimerArmed: Bool

    static func read(tid: Int32, reader: TaskKernelReader) throws -> BlockedProcess {
        let btf = reader.btf
        let cred = try btf.offset(of: "cred", in: "task_struct").offset
        let secure = try btf.offset(of: "securebits", in: "cred").offset
        let signal = try btf.offset(of: "signal", in: "task_struct").offset
        let sub = try btf.bitfield("is_child_subreaper", in: "signal_struct")
        let incr = try btf.offset(of: "it_real_incr", in: "signal_struct").offset
        let cpu = try btf.offset(of: "it", in: "signal_struct").offset
        // A queued hrtimer has bit 0 (HRTIMER_STATE_ENQUEUED) of its state set; the member is named
        // "state" or, on newer kernels, "is_queued".
        let timer = try btf.offset(of: "real_timer", in: "signal_struct").offset
        let queued: Int
        if let o = try? btf.offset(of: "state", in: "hrtimer").offset { queued = o } else { queued = try btf.offset(of: "is_queued", in: "hrtimer").offset }
        let sig = TaskKernelReader.Base.task(derefs: [signal])
        let p = try reader.read(tid: tid, [
            .init(.task(derefs: [cred]), offset: secure, length: 4),
            .init(sig, offset: sub.bitOffset / 8, length: 1),
            .init(sig, offset: incr, length: 8),
            .init(sig, offset: timer + queued, length: 1),
            .init(sig, offset: cpu, length: 32),    // it[2]: {expires, incr} for PROF and VIRT
        ])
        let armed = le64(p[2], 0) != 0 || p[3][0] & 1 != 0 || le64(p[4], 0) != 0 || le64(p[4], 16) != 0
        return BlockedProcess(securebits: le32(p[0], 0), childSubreaper: p[1][0] >> UInt8(sub.bitOffset % 8) & 1 != 0,
                              itimerArmed: armed)
    }
}
