import Glibc
import CSys
import Compel
import Images

/// The small per-task and per-thread settings: personality, name, prctl switches, rlimits, scheduling,
/// rseq, robust futex list, clear_child_tid, OOM score and login uid.
enum TaskProps {
    private static let prSetPdeathsig: UInt64 = 1
    private static let prSetDumpable: UInt64 = 4
    private static let prSetName: UInt64 = 15
    private static let prSetChildSubreaper: UInt64 = 36
    private static let prSetThpDisable: UInt64 = 41
    private static let prSetTimerslack: UInt64 = 29, prGetTimerslack: UInt64 = 30

    // MARK: dump

    static func dumpTaskCore(pid: Int32, _ tc: inout TaskCoreEntry, stat: TaskStat, childSubreaper: Bool) throws {
        tc.personality = UInt32(try ProcFile.readText("/proc/\(pid)/personality").trimmedHex(), radix: 16) ?? 0
        tc.comm = stat.comm
        tc.flags = stat.flags
        tc.oomScoreAdj = Int32(try ProcFile.readText("/proc/\(pid)/oom_score_adj").trimmedHex()) ?? 0
        if let l = try? ProcFile.readText("/proc/\(pid)/loginuid"), let v = UInt32(l.trimmedHex()) { tc.loginuid = v }
        tc.childSubreaper = childSubreaper
        var limits = TaskRlimitsEntry()
        for l in try Limits.read(pid: pid) {
            var e = RlimitEntry()
            e.cur = l.soft
            e.max = l.hard
            limits.rlimits.append(e)
        }
        tc.rlimits = limits
    }

    static func dumpThreadCore(_ th: inout ThreadCoreEntry, tid: Int32, stat: TaskStat, pdeathSig: UInt32) throws {
        var head: UInt64 = 0, len: UInt64 = 0
        if csys_sys_get_robust_list(tid, &head, &len) < 0 {
            throw EngineError("get_robust_list", pid: tid, errno: .init(rawValue: errno))
        }
        th.futexRla = head
        th.futexRlaLen = UInt32(len)
        th.schedNice = Int32(stat.nice)
        th.schedPolicy = stat.policy
        th.schedPrio = stat.rtPriority
        th.pdeathSig = pdeathSig
        th.comm = stat.comm
        var conf = csys_rseq_configuration()
        let n = csys_ptrace(Int(CSYS_PTRACE_GET_RSEQ_CONFIGURATION), tid,
                            UnsafeMutableRawPointer(bitPattern: MemoryLayout<csys_rseq_configuration>.size), &conf)
        if n < 0 { throw EngineError("PTRACE_GET_RSEQ_CONFIGURATION", pid: tid, errno: .init(rawValue: errno)) }
        if conf.rseq_abi_pointer != 0 {
            var e = RseqEntry()
            e.rseqAbiPointer = conf.rseq_abi_pointer
            e.rseqAbiSize = conf.rseq_abi_size
            e.signature = conf.signature
            th.rseqEntry = e
        }
    }

    static func timerslack(_ r: Remote) throws -> UInt64 {
        // /proc/TID/timerslack_ns is the same per-thread value, read without an injected call (it needs
        // CAP_SYS_NICE, which root has); the prctl stays for when it cannot be read.
        if let text = try? ProcFile.readText("/proc/\(r.tid)/timerslack_ns"),
           let v = UInt64(text.split(separator: "\n").first ?? "") { return v }
        return UInt64(try r.call("prctl(PR_GET_TIMERSLACK)", Int32(SYS_prctl), prGetTimerslack, 0, 0, 0, 0))
    }

    // MARK: restore (in the task, before its creds change)

    static func restoreLimits(_ r: Remote, _ tc: TaskCoreEntry) throws {
        // The task inherited criu's limits, mostly equal to the dumped ones: one read of /proc/PID/limits
        // spares an injected prlimit64 (two ptrace stops) for each such limit.
        let now = try? Limits.read(pid: r.pid)
        for (res, l) in tc.rlimits.rlimits.enumerated() {
            if let now, res < now.count, now[res] == RLimit(soft: l.cur, hard: l.max) { continue }
            r.store(l.cur, at: 0)
            r.store(l.max, at: 8)
            let ret = try r.raw(Int32(SYS_prlimit64), 0, UInt64(res), r.addr(), 0)
            if ret < 0 {
                throw EngineError("restore rlimit \(Limits.names[safe: res] ?? String(res))", pid: r.pid,
                                  errno: .init(rawValue: Int32(-ret)),
                                  reason: "cur \(l.cur) max \(l.max) (raising a hard limit needs CAP_SYS_RESOURCE)")
            }
        }
    }

    static func restoreTaskCore(_ r: Remote, _ tc: TaskCoreEntry) throws {
        if tc.personality != 0 {
            try r.call("personality", Int32(SYS_personality), UInt64(tc.personality))
        }
        try setName(r, tc.comm)
        if tc.childSubreaper {
            try r.call("prctl(PR_SET_CHILD_SUBREAPER)", Int32(SYS_prctl), prSetChildSubreaper, 1, 0, 0, 0)
        }
    }

    /// The name of the thread `r` runs in.
    static func setName(_ r: Remote, _ comm: String) throws {
        let name = Array(comm.utf8.prefix(15)) + [0]
        r.storeBytes(name, at: 0)
        try r.call("prctl(PR_SET_NAME)", Int32(SYS_prctl), prSetName, r.addr(), 0, 0, 0)
    }

    /// A thread's parent-death signal; the creds change before it would clear it.
    static func restorePdeathSig(_ r: Remote, _ th: ThreadCoreEntry) throws {
        try r.call("prctl(PR_SET_PDEATHSIG)", Int32(SYS_prctl), prSetPdeathsig, UInt64(th.pdeathSig), 0, 0, 0)
    }

    /// Robust list, clear_child_tid and rseq of the thread `r` runs in, in one batch; the task's memory
    /// must already be back (the kernel writes the rseq area on the way out).
    static func restoreThreadCore(_ r: Remote, _ th: ThreadCoreEntry, clearTid: UInt64) throws {
        var calls: [(op: String, call: RemoteCall)] = []
        if th.futexRla != 0 {
            calls.append(("set_robust_list", RemoteCall(Int(SYS_set_robust_list), th.futexRla, UInt64(th.futexRlaLen))))
        }
        calls.append(("set_tid_address", RemoteCall(Int(SYS_set_tid_address), clearTid)))
        if th.hasRseqEntry {
            let e = th.rseqEntry
            calls.append(("rseq", RemoteCall(Int(SYS_rseq), e.rseqAbiPointer, UInt64(e.rseqAbiSize), 0, UInt64(e.signature))))
        }
        try r.callAll(calls)
    }

    /// CPU affinity of a thread, as 64-bit mask words (read from outside).
    static func dumpAffinity(tid: Int32) throws -> [UInt64] {
        var mask = [UInt64](repeating: 0, count: 16)
        let n = csys_sys_sched_getaffinity(tid, mask.count * 8, &mask)
        if n < 0 { throw EngineError("sched_getaffinity", pid: tid, errno: .init(rawValue: errno)) }
        var words = Array(mask.prefix(Int(n) / 8))
        while words.count > 1 && words.last == 0 { words.removeLast() }
        return words
    }

    /// From outside: the kernel checks our CAP_SYS_NICE, not the task's.
    static func restoreScheduling(pid: Int32, _ th: ThreadCoreEntry) throws {
        if !th.cpuAffinity.isEmpty {
            let words = th.cpuAffinity
            if csys_sys_sched_setaffinity(pid, words.count * 8, words) < 0 {
                throw EngineError("sched_setaffinity", pid: pid, errno: .init(rawValue: errno),
                                  reason: "the dumped CPUs may not exist here")
            }
        }
        if th.hasSchedPolicy && th.schedPolicy != 0 {
            var param = sched_param(sched_priority: Int32(th.schedPrio))
            if sched_setscheduler(pid, Int32(th.schedPolicy), &param) < 0 {
                throw EngineError("sched_setscheduler(\(th.schedPolicy))", pid: pid, errno: .init(rawValue: errno))
            }
        }
        if th.hasSchedNice && setpriority(__priority_which_t(0), id_t(pid), th.schedNice) < 0 {
            throw EngineError("setpriority(\(th.schedNice))", pid: pid, errno: .init(rawValue: errno))
        }
    }

    /// dumpable and the parent-death signal reset whenever the uid changes, so these come after the creds.
    static func restoreAfterCreds(_ r: Remote, _ mm: MmEntry, _ th: ThreadCoreEntry, timerslack: UInt64?) throws {
        // A credential change clears the parent-death signal, and the restorer's child was armed with
        // SIGKILL for the case criu dies mid-restore: always set it, last.
        try r.call("prctl(PR_SET_PDEATHSIG)", Int32(SYS_prctl), prSetPdeathsig, UInt64(th.pdeathSig), 0, 0, 0)
        if mm.hasDumpable {
            try r.call("prctl(PR_SET_DUMPABLE)", Int32(SYS_prctl), prSetDumpable, UInt64(mm.dumpable), 0, 0, 0)
        }
        if mm.hasThpDisabled && mm.thpDisabled {
            try r.call("prctl(PR_SET_THP_DISABLE)", Int32(SYS_prctl), prSetThpDisable, 1, 0, 0, 0)
        }
        if let t = timerslack {
            try r.call("prctl(PR_SET_TIMERSLACK)", Int32(SYS_prctl), prSetTimerslack, t, 0, 0, 0)
        }
    }

    /// Written from outside through /proc, where the kernel checks our privileges, not the task's.
    static func restoreProcKnobs(pid: Int32, _ tc: TaskCoreEntry) throws {
        if tc.hasOomScoreAdj {
            try writeProc("/proc/\(pid)/oom_score_adj", "\(tc.oomScoreAdj)", pid: pid)
        }
        if tc.hasLoginuid, let cur = try? ProcFile.readText("/proc/\(pid)/loginuid"),
           UInt32(cur.trimmedHex()) != tc.loginuid {
            try writeProc("/proc/\(pid)/loginuid", "\(tc.loginuid)", pid: pid)
        }
    }

    static func writeProc(_ path: String, _ value: String, pid: Int32) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError("open", pid: pid, path: path, errno: .init(rawValue: errno)) }
        defer { close(fd) }
        var v = value
        let n = v.withUTF8 { write(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw EngineError("write \(value) to", pid: pid, path: path, errno: .init(rawValue: errno)) }
    }
}

extension String {
    /// The first line without surrounding blanks (for one-value /proc files).
    func trimmedHex() -> String {
        String((split(separator: "\n").first ?? "").filter { $0 != " " && $0 != "\t" })
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
