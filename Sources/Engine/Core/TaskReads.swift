import Glibc
import CSys
import Compel
import Images

/// The per-process state only the task itself can tell, read by injected syscalls in one batch: every
/// signal action (62 rt_sigaction), the three interval timers, child-subreaper, brk, dumpable and
/// THP-disable. One round trip per task instead of 70.
struct TaskReads {
    var sigactions: [SaEntry] = []
    var real = ItimerEntry(), virt = ItimerEntry(), prof = ItimerEntry()
    var childSubreaper = false
    var brk: UInt64 = 0
    var dumpable: Int32 = 0
    var thpDisabled = false

    private static let prGetDumpable: UInt64 = 3, prGetChildSubreaper: UInt64 = 37, prGetThpDisable: UInt64 = 42
    // Slots in the shared scratch memory: a kernel_sigaction per signal, then the itimervals, then an int.
    private static let itimersAt = 2048, subreaperAt = 2160

    static func read(_ r: Remote) throws -> TaskReads {
        let saSize = MemoryLayout<csys_kernel_sigaction>.size
        let sigs = Signals.catchable
        precondition(saSize * sigs.count <= itimersAt && subreaperAt + 4 <= r.local.count)
        r.zero(subreaperAt + 4)
        var calls = sigs.enumerated().map { i, sig in
            ("rt_sigaction(\(sig))", RemoteCall(Int(SYS_rt_sigaction), UInt64(sig), 0, r.addr(saSize * i), 8))
        }
        for (which, name) in ["ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF"].enumerated() {
            calls.append(("getitimer(\(name))", RemoteCall(Int(SYS_getitimer), UInt64(which), r.addr(itimersAt + 32 * which))))
        }
        calls.append(("prctl(PR_GET_CHILD_SUBREAPER)", RemoteCall(Int(SYS_prctl), prGetChildSubreaper, r.addr(subreaperAt), 0, 0, 0)))
        calls.append(("brk(0)", RemoteCall(Int(CSYS_NR_brk), 0)))
        calls.append(("prctl(PR_GET_DUMPABLE)", RemoteCall(Int(SYS_prctl), prGetDumpable, 0, 0, 0, 0)))
        calls.append(("prctl(PR_GET_THP_DISABLE)", RemoteCall(Int(SYS_prctl), prGetThpDisable, 0, 0, 0, 0)))
        let res = try r.callAll(calls)

        var t = TaskReads()
        for i in sigs.indices {
            let ka = r.load(csys_kernel_sigaction.self, at: saSize * i)
            var e = SaEntry()
            e.sigaction = ka.handler
            e.flags = ka.flags
            e.restorer = ka.restorer
            e.mask = ka.mask
            t.sigactions.append(e)
        }
        func itimer(_ which: Int) -> ItimerEntry {
            let at = itimersAt + 32 * which
            var e = ItimerEntry()
            e.isec = r.load(UInt64.self, at: at)
            e.iusec = r.load(UInt64.self, at: at + 8)
            e.vsec = r.load(UInt64.self, at: at + 16)
            e.vusec = r.load(UInt64.self, at: at + 24)
            return e
        }
        t.real = itimer(0); t.virt = itimer(1); t.prof = itimer(2)
        t.childSubreaper = r.load(Int32.self, at: subreaperAt) != 0
        let n = sigs.count + 3
        t.brk = UInt64(bitPattern: res[n + 1])
        t.dumpable = Int32(truncatingIfNeeded: res[n + 2])
        t.thpDisabled = res[n + 3] != 0
        return t
    }
}
