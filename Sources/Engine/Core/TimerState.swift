import Glibc
import CSys
import Images

/// Interval timers (real, virtual, prof) and POSIX timers, with their remaining time and interval.
enum TimerState {
    static func restoreItimers(_ r: Remote, _ t: TaskTimersEntry) throws {
        for (which, e, name) in [(0, t.real, "ITIMER_REAL"), (1, t.virt, "ITIMER_VIRTUAL"), (2, t.prof, "ITIMER_PROF")] {
            if e.vsec == 0 && e.vusec == 0 { continue }
            r.store(e.isec, at: 0); r.store(e.iusec, at: 8); r.store(e.vsec, at: 16); r.store(e.vusec, at: 24)
            try r.call("setitimer(\(name))", Int32(SYS_setitimer), UInt64(which), r.addr(), 0)
        }
    }

    /// The sigev_notify value /proc/PID/timers describes.
    static func sigevNotify(_ t: PosixTimerInfo) -> Int32 {
        var n: Int32
        switch t.notify {
        case .signal, .other: n = 0
        case .none: n = 1
        case .thread: n = 2
        }
        if t.toThread { n |= 4 }
        return n
    }

    static func dumpPosix(_ r: Remote) throws -> [PosixTimerEntry] {
        let text = try ProcFile.readText("/proc/\(r.pid)/timers")
        var out: [PosixTimerEntry] = []
        for t in try Timers.parse(text) {
            r.zero(32)
            try r.call("timer_gettime(\(t.id))", Int32(SYS_timer_gettime), UInt64(t.id), r.addr())
            let overrun = try r.call("timer_getoverrun(\(t.id))", Int32(SYS_timer_getoverrun), UInt64(t.id))
            var e = PosixTimerEntry()
            e.itID = UInt32(t.id)
            e.clockID = UInt32(bitPattern: t.clockId)
            e.siSigno = UInt32(t.signal)
            e.itSigevNotify = UInt32(bitPattern: sigevNotify(t))
            e.sivalPtr = t.sigval
            e.overrun = UInt32(truncatingIfNeeded: overrun)
            e.isec = r.load(UInt64.self, at: 0)
            e.insec = r.load(UInt64.self, at: 8)
            e.vsec = r.load(UInt64.self, at: 16)
            e.vnsec = r.load(UInt64.self, at: 24)
            if t.toThread { e.notifyThreadID = t.target }
            out.append(e)
        }
        return out
    }

    /// Creates each timer under its old id (PR_TIMER_CREATE_RESTORE_IDS makes timer_create take the id from
    /// *timerid), then arms it.
    static func restorePosix(_ r: Remote, _ timers: [PosixTimerEntry]) throws {
        guard !timers.isEmpty else { return }
        try r.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, on)", Int32(SYS_prctl), UInt64(CSYS_PR_TIMER_CREATE_RESTORE_IDS), 1, 0, 0, 0)
        for t in timers {
            r.zero(128)
            // struct sigevent: sigev_value @0, sigev_signo @8, sigev_notify @12, sigev_notify_thread_id @16
            r.store(t.sivalPtr, at: 0)
            r.store(Int32(bitPattern: t.siSigno), at: 8)
            r.store(Int32(bitPattern: t.itSigevNotify), at: 12)
            r.store(t.hasNotifyThreadID ? t.notifyThreadID : 0, at: 16)
            r.store(Int32(bitPattern: t.itID), at: 64)
            try r.call("timer_create(\(t.itID))", Int32(SYS_timer_create), UInt64(t.clockID), r.addr(), r.addr(64))
            let got = r.load(Int32.self, at: 64)
            guard got == Int32(bitPattern: t.itID) else {
                throw EngineError("restore POSIX timer", pid: r.pid, reason: "wanted id \(t.itID), kernel gave \(got)")
            }
            if t.vsec == 0 && t.vnsec == 0 { continue }
            r.store(t.isec, at: 0); r.store(t.insec, at: 8); r.store(t.vsec, at: 16); r.store(t.vnsec, at: 24)
            try r.call("timer_settime(\(t.itID))", Int32(SYS_timer_settime), UInt64(t.itID), 0, r.addr(), 0)
        }
        try r.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, off)", Int32(SYS_prctl), UInt64(CSYS_PR_TIMER_CREATE_RESTORE_IDS), 0, 0, 0, 0)
    }
}
