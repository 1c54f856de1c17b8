import Glibc
import CSys
import Compel
import Images

/// The core of a parent asleep in vfork, which is never seized: its thread state comes from the BPF task
/// reader (BlockedThread, BlockedProcess, BlockedSignals), the rest from /proc and calls that take a pid. What neither
/// gives without running code in the task is refused, naming the pid; the tree then runs on untouched.
/// Its memory and mm are the child's (same address space) and are dumped with the child.
enum VforkParent {
    struct State {
        let thread: BlockedThread
        let process: BlockedProcess
        let status: TaskStatus
        let stat: TaskStat
        /// Pending signals' siginfo: the thread's own queue and the process' shared one.
        let ownSignals: [[UInt8]]
        let sharedSignals: [[UInt8]]
    }

    /// Reads the parent's state, or refuses what cannot be read or restored.
    static func read(pid: Int32, child: Int32) throws -> State {
        let reader = try VforkCheck.reader(for: pid, child: child)
        func refuse(_ why: String) -> EngineError {
            EngineError("dump", pid: pid, reason: "is inside vfork() (child \(child)) and \(why); not supported for a task that cannot be stopped")
        }
        let status = try Status.read(pid: pid)
        let stat = try Stat.read(pid: pid)
        if status.threads != 1 { throw refuse("has \(status.threads) threads") }
        if status.seccompMode != 0 { throw refuse("has seccomp mode \(status.seccompMode)") }
        let timers = (try? ProcFile.readText("/proc/\(pid)/timers")) ?? ""
        if !timers.isEmpty { throw refuse("has POSIX timers") }
        let process: BlockedProcess, thread: BlockedThread, ownSignals: [[UInt8]], sharedSignals: [[UInt8]]
        do {
            process = try BlockedProcess.read(tid: pid, reader: reader)
            thread = try BlockedThread.read(tid: pid, reader: reader)
            ownSignals = status.sigPending == 0 ? [] : try BlockedSignals.read(tid: pid, shared: false, reader: reader)
            sharedSignals = status.sigPendingShared == 0 ? [] : try BlockedSignals.read(tid: pid, shared: true, reader: reader)
        } catch {
            throw EngineError.wrap(error, "read the state of a task inside vfork with BPF", pid: pid)
        }
        if process.cpuItimerArmed { throw refuse("has an armed CPU interval timer (ITIMER_VIRTUAL or ITIMER_PROF)") }
        // The reads raced with nothing: the parent sleeps until its child (seized) execs or exits.
        guard VforkCheck.child(of: pid) == child else { throw refuse("left vfork while being read") }
        return State(thread: thread, process: process, status: status, stat: stat, ownSignals: ownSignals, sharedSignals: sharedSignals)
    }

    private static func queue(_ infos: [[UInt8]]) -> SignalQueueEntry {
        var q = SignalQueueEntry()
        q.signals = infos.map { var e = SiginfoEntry(); e.siginfo = .init($0); return e }
        return q
    }

    static func core(pid: Int32, vforkChild: Int32, _ s: State) throws -> CoreEntry {
        let bt = s.thread
        var tc = TaskCoreEntry()
        tc.taskState = TaskDump.taskAlive
        tc.exitCode = 0
        tc.blkSigset = bt.blocked
        tc.sigactions = Signals.catchable.map { sig in
            let a = bt.actions[Int(sig) - 1]
            var e = SaEntry()
            e.sigaction = a.handler
            e.flags = a.flags
            e.restorer = a.restorer
            e.mask = a.mask
            return e
        }
        var timers = TaskTimersEntry()
        // VforkParent.read refused armed CPU timers: those two are disarmed.
        var off = ItimerEntry()
        off.isec = 0; off.iusec = 0; off.vsec = 0; off.vusec = 0
        timers.virt = off; timers.prof = off
        var real = ItimerEntry()
        let p = s.process
        real.isec = p.realIntervalNs / 1_000_000_000; real.iusec = p.realIntervalNs % 1_000_000_000 / 1000
        real.vsec = p.realValueNs / 1_000_000_000; real.vusec = p.realValueNs % 1_000_000_000 / 1000
        if p.realValueNs != 0 && real.vsec == 0 && real.vusec == 0 { real.vusec = 1 }
        timers.real = real
        tc.timers = timers
        tc.signalsS = queue(s.sharedSignals)
        tc.personality = bt.personality
        tc.comm = s.stat.comm
        tc.flags = s.stat.flags
        tc.oomScoreAdj = Int32(try ProcFile.readText("/proc/\(pid)/oom_score_adj").trimmedHex()) ?? 0
        if let l = try? ProcFile.readText("/proc/\(pid)/loginuid"), let v = UInt32(l.trimmedHex()) { tc.loginuid = v }
        tc.childSubreaper = s.process.childSubreaper
        var limits = TaskRlimitsEntry()
        for l in try Limits.read(pid: pid) {
            var e = RlimitEntry()
            e.cur = l.soft
            e.max = l.hard
            limits.rlimits.append(e)
        }
        tc.rlimits = limits
        tc.vforkChild = UInt32(vforkChild)

        var ti = ThreadInfoX86()
        ti.clearTidAddr_p = bt.clearChildTid
        ti.gpregs = CpuState.entry(bt.regs)
        ti.fpregs = CpuState.fpregs(bt.xsave)

        var th = ThreadCoreEntry()
        var head: UInt64 = 0, len: UInt64 = 0
        if csys_sys_get_robust_list(pid, &head, &len) < 0 {
            throw EngineError("get_robust_list", pid: pid, errno: .init(rawValue: errno))
        }
        th.futexRla = head
        th.futexRlaLen = UInt32(len)
        th.schedNice = Int32(s.stat.nice)
        th.schedPolicy = s.stat.policy
        th.schedPrio = s.stat.rtPriority
        th.pdeathSig = UInt32(bitPattern: bt.pdeathSignal)
        th.comm = s.stat.comm
        if bt.rseq.address != 0 {
            var e = RseqEntry()
            e.rseqAbiPointer = bt.rseq.address
            e.rseqAbiSize = bt.rseq.length
            e.signature = bt.rseq.signature
            th.rseqEntry = e
        }
        th.blkSigset = bt.blocked
        var sas = ThreadSasEntry()
        sas.ssSp = bt.altStack.sp
        sas.ssSize = bt.altStack.size
        // sigaltstack() reports SS_DISABLE without a stack and SS_ONSTACK while on it, besides the flags
        // kept in the task (SS_AUTODISARM).
        let sp = bt.regs.rsp, base = bt.altStack.sp, size = bt.altStack.size
        let onStack = size != 0 && sp > base && sp - base <= size
        sas.ssFlags = bt.altStack.flags | (size == 0 ? 2 : onStack ? 1 : 0)
        th.sas = sas
        th.signalsP = queue(s.ownSignals)
        guard s.status.uid.count == 4, s.status.gid.count == 4 else {
            throw EngineError("dump creds", pid: pid, reason: "/proc/PID/status lacks Uid/Gid lines")
        }
        th.creds = Creds.entry(s.status, secbits: s.process.securebits)
        th.seccompMode = .disabled
        let slack = try ProcFile.readText("/proc/\(pid)/timerslack_ns")
        guard let v = UInt64(slack.split(separator: "\n").first ?? "") else {
            throw EngineError("read timerslack_ns", pid: pid, reason: "unexpected content \(slack)")
        }
        th.timerslackNs = v
        th.cpuAffinity = try TaskProps.dumpAffinity(tid: pid)

        var c = CoreEntry()
        c.mtype = .x8664
        c.threadInfo = ti
        c.threadCore = th
        c.tc = tc
        return c
    }
}
