import Glibc
import CSys

/// Process-wide state of a parent asleep in vfork that only an injected call would otherwise give:
/// securebits (prctl), the child-subreaper flag (prctl) and the interval timers (getitimer works only on
/// the caller). Read with TaskKernelReader like BlockedThread.
struct BlockedProcess {
    var securebits: UInt32
    var childSubreaper: Bool
    /// ITIMER_REAL as getitimer reports it (value left and interval, ns; value 0: disarmed). The
    /// kernel keeps an absolute CLOCK_MONOTONIC expiry in `signal->real_timer`, read here against our
    /// clock right after the read.
    var realValueNs: UInt64
    var realIntervalNs: UInt64
    /// A CPU itimer (virtual, prof) with an expiry: its expiry is in process CPU time, which cannot be
    /// read exactly from outside.
    var cpuItimerArmed: Bool

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
        let expires = try btf.offset(of: "node.expires", in: "hrtimer").offset
        let queued: Int
        if let o = try? btf.offset(of: "state", in: "hrtimer").offset { queued = o } else { queued = try btf.offset(of: "is_queued", in: "hrtimer").offset }
        let sig = TaskKernelReader.Base.task(derefs: [signal])
        let p = try reader.read(tid: tid, [
            .init(.task(derefs: [cred]), offset: secure, length: 4),
            .init(sig, offset: sub.bitOffset / 8, length: 1),
            .init(sig, offset: incr, length: 8),
            .init(sig, offset: timer + queued, length: 1),
            .init(sig, offset: cpu, length: 32),    // it[2]: {expires, incr} for PROF and VIRT
            .init(sig, offset: timer + expires, length: 8),
        ])
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowNs = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        let queuedTimer = p[3][0] & 1 != 0
        // A timer due but not yet run reports 1 us left, as getitimer does.
        let left = Int64(bitPattern: le64(p[5], 0)) - nowNs
        let value: UInt64 = queuedTimer ? UInt64(max(left, 1000)) : 0
        return BlockedProcess(securebits: le32(p[0], 0), childSubreaper: p[1][0] >> UInt8(sub.bitOffset % 8) & 1 != 0,
                              realValueNs: value, realIntervalNs: queuedTimer ? le64(p[2], 0) : 0,
                              cpuItimerArmed: le64(p[4], 0) != 0 || le64(p[4], 16) != 0)
    }
}
