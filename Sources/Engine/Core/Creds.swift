import Glibc
import CSys
import Images

/// User and group ids, supplementary groups, capabilities, securebits and no_new_privs.
enum Creds {
    private static let prGetSecurebits: UInt64 = 27, prSetSecurebits: UInt64 = 28
    private static let prCapbsetDrop: UInt64 = 24
    private static let prCapAmbient: UInt64 = 47, prCapAmbientRaise: UInt64 = 2
    private static let prSetNoNewPrivs: UInt64 = 38
    private static let secbitKeepCaps: UInt32 = 1 << 4

    /// `secbits` as the thread's PR_GET_SECUREBITS told (ThreadReads).
    static func dump(pid: Int32, status: TaskStatus, secbits: UInt32) throws -> CredsEntry {
        guard status.uid.count == 4, status.gid.count == 4 else {
            throw EngineError("dump creds", pid: pid, reason: "/proc/PID/status lacks Uid/Gid lines")
        }
        return entry(status, secbits: secbits)
    }

    /// The identity a thread of a task being restored has now, told without running code in it: ids, groups,
    /// capabilities and no_new_privs from its status file; securebits are criu's own, which a forked task and
    /// the threads cloned in it keep until `restore` changes them. nil when it cannot be told.
    static func current(pid: Int32, tid: Int32) -> CredsEntry? {
        guard let st = try? Status.read(pid: pid, tid: tid), st.uid.count == 4, st.gid.count == 4 else { return nil }
        let secbits = csys_prctl(Int32(prGetSecurebits), 0, 0, 0, 0)
        guard secbits >= 0 else { return nil }
        return entry(st, secbits: UInt32(secbits))
    }

    static func entry(_ status: TaskStatus, secbits: UInt32) -> CredsEntry {
        var c = CredsEntry()
        c.uid = status.uid[0]; c.euid = status.uid[1]; c.suid = status.uid[2]; c.fsuid = status.uid[3]
        c.gid = status.gid[0]; c.egid = status.gid[1]; c.sgid = status.gid[2]; c.fsgid = status.gid[3]
        c.groups = status.groups
        c.capInh = split(status.capInheritable)
        c.capPrm = split(status.capPermitted)
        c.capEff = split(status.capEffective)
        c.capBnd = split(status.capBounding)
        c.capAmb = split(status.capAmbient)
        c.secbits = secbits
        c.noNewPrivs = status.noNewPrivs ? 1 : 0
        return c
    }

    private static func split(_ v: UInt64) -> [UInt32] { [UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32)] }

    private static func join(_ w: [UInt32]) -> UInt64 {
        (w.count > 0 ? UInt64(w[0]) : 0) | (w.count > 1 ? UInt64(w[1]) << 32 : 0)
    }

    /// Becomes the dumped identity from inside the task, which starts as root with every capability:
    /// keep-caps so the uid change spares the permitted set, then ids, then the capability sets.
    static func restore(_ r: Remote, _ c: CredsEntry) throws {
        // Most tasks were dumped with the identity criu restores them with: then nothing needs to change,
        // and a status read spares 9 or more injected calls per task and per thread.
        if let now = current(pid: r.pid, tid: r.tid), now == c { return }
        let lastCap = capLastCap()
        // What the task may still raise after the uid change: its permitted set now, as keep-caps keeps it.
        let held = (try? Status.read(pid: r.pid, tid: r.tid).capPermitted) ?? 0
        try r.call("prctl(PR_SET_SECUREBITS)", Int32(SYS_prctl), prSetSecurebits, UInt64(c.secbits | secbitKeepCaps), 0, 0, 0)
        let bnd = join(c.capBnd)
        for cap in 0...lastCap where bnd & (1 << UInt64(cap)) == 0 {
            try r.call("prctl(PR_CAPBSET_DROP, \(cap))", Int32(SYS_prctl), prCapbsetDrop, UInt64(cap), 0, 0, 0)
        }
        for (i, g) in c.groups.enumerated() { r.store(g, at: 4 * i) }
        try r.call("setgroups", Int32(SYS_setgroups), UInt64(c.groups.count), r.addr())
        try r.call("setresgid", Int32(SYS_setresgid), UInt64(c.gid), UInt64(c.egid), UInt64(c.sgid))
        _ = try r.raw(Int32(SYS_setfsgid), UInt64(c.fsgid))
        try r.call("setresuid", Int32(SYS_setresuid), UInt64(c.uid), UInt64(c.euid), UInt64(c.suid))
        _ = try r.raw(Int32(SYS_setfsuid), UInt64(c.fsuid))
        // Everything held stays effective until the securebits and ambient set are in place.
        let prm = join(c.capPrm), inh = join(c.capInh)
        try capset(r, eff: held, prm: held, inh: inh)
        try r.call("prctl(PR_SET_SECUREBITS)", Int32(SYS_prctl), prSetSecurebits, UInt64(c.secbits), 0, 0, 0)
        let amb = join(c.capAmb)
        for cap in 0...lastCap where amb & (1 << UInt64(cap)) != 0 {
            try r.call("prctl(PR_CAP_AMBIENT_RAISE, \(cap))", Int32(SYS_prctl), prCapAmbient, prCapAmbientRaise, UInt64(cap), 0, 0)
        }
        try capset(r, eff: join(c.capEff), prm: prm, inh: inh)
        if c.hasNoNewPrivs && c.noNewPrivs != 0 {
            try r.call("prctl(PR_SET_NO_NEW_PRIVS)", Int32(SYS_prctl), prSetNoNewPrivs, 1, 0, 0, 0)
        }
    }

    private static func capset(_ r: Remote, eff: UInt64, prm: UInt64, inh: UInt64) throws {
        // header {version 3, pid 0} then two {effective, permitted, inheritable} words
        r.store(UInt32(0x2008_0522), at: 0)
        r.store(Int32(0), at: 4)
        let words: [UInt32] = [UInt32(truncatingIfNeeded: eff), UInt32(truncatingIfNeeded: prm), UInt32(truncatingIfNeeded: inh),
                               UInt32(truncatingIfNeeded: eff >> 32), UInt32(truncatingIfNeeded: prm >> 32), UInt32(truncatingIfNeeded: inh >> 32)]
        for (i, w) in words.enumerated() { r.store(w, at: 8 + 4 * i) }
        try r.call("capset", Int32(SYS_capset), r.addr(), r.addr(8))
    }

    static func capLastCap() -> Int {
        (try? ProcFile.readText("/proc/sys/kernel/cap_last_cap")).flatMap { Int($0.split(separator: "\n").first ?? "") } ?? 40
    }
}
