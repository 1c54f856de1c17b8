import Glibc
import CSys
import Compel
import Images

/// Builds the core, mm and ids entries of one single-threaded task.
enum TaskDump {
    static let taskAlive: UInt32 = 1, taskDead: UInt32 = 2, taskStopped: UInt32 = 3

    /// The main thread's core: the process-wide task core plus its own thread state.
    static func core(_ r: Remote, reads: TaskReads, regs: GeneralRegisters, xsave: XsaveArea, sigmask: UInt64, status: TaskStatus,
                     stat: TaskStat, stopped: Bool) throws -> CoreEntry {
        var tc = TaskCoreEntry()
        tc.taskState = stopped ? taskStopped : taskAlive
        if stopped { tc.stopSigno = UInt32(SIGSTOP) }
        tc.exitCode = 0
        tc.blkSigset = sigmask
        tc.sigactions = reads.sigactions
        var timers = TaskTimersEntry()
        timers.real = reads.real
        timers.virt = reads.virt
        timers.prof = reads.prof
        timers.posix = try TimerState.dumpPosix(r)
        tc.timers = timers
        tc.signalsS = try Signals.dumpPending(tid: r.pid, shared: true)
        try TaskProps.dumpTaskCore(pid: r.pid, &tc, stat: stat, childSubreaper: reads.childSubreaper)

        var c = try threadCore(r, regs: regs, xsave: xsave, sigmask: sigmask, status: status, stat: stat)
        c.tc = tc
        return c
    }

    /// One thread's own state (`r` runs in that thread; `status` and `stat` are the thread's own files):
    /// what a thread other than the main one has in its core file.
    static func threadCore(_ r: Remote, regs: GeneralRegisters, xsave: XsaveArea, sigmask: UInt64,
                           status: TaskStatus, stat: TaskStat) throws -> CoreEntry {
        let reads = try ThreadReads.read(r)
        var ti = ThreadInfoX86()
        ti.clearTidAddr_p = reads.clearTid
        ti.gpregs = CpuState.entry(regs)
        ti.fpregs = CpuState.fpregs(xsave)

        var th = ThreadCoreEntry()
        try TaskProps.dumpThreadCore(&th, tid: r.tid, stat: stat, pdeathSig: reads.pdeathSig)
        th.blkSigset = sigmask
        th.sas = reads.sas
        th.signalsP = try Signals.dumpPending(tid: r.tid, shared: false)
        th.creds = try Creds.dump(pid: r.tid, status: status, secbits: reads.secbits)
        th.seccompMode = .disabled
        th.timerslackNs = try TaskProps.timerslack(r)
        th.cpuAffinity = try TaskProps.dumpAffinity(tid: r.pid)

        var c = CoreEntry()
        c.mtype = .x8664
        c.threadInfo = ti
        c.threadCore = th
        return c
    }

    /// A zombie has no memory or registers: its exit status plus what /proc still shows of it (name,
    /// ids, caught/ignored/blocked signals, shared pending signals), so that it looks the same after restore.
    /// Sigactions hold only the disposition kind: 0 default, 1 ignored, 2 caught.
    static func zombieCore(exitCode: Int32, comm: String, status: TaskStatus?) -> CoreEntry {
        var tc = TaskCoreEntry()
        tc.taskState = taskDead
        tc.exitCode = UInt32(bitPattern: exitCode)
        tc.personality = 0
        tc.flags = 0
        tc.blkSigset = status?.sigBlocked ?? 0
        tc.comm = comm
        var c = CoreEntry()
        c.mtype = .x8664
        if let st = status, st.uid.count == 4, st.gid.count == 4 {
            tc.sigactions = Signals.catchable.map { sig in
                var e = SaEntry()
                let bit = UInt64(1) << UInt64(sig - 1)
                e.sigaction = st.sigCaught & bit != 0 ? 2 : st.sigIgnored & bit != 0 ? 1 : 0
                e.flags = 0
                e.restorer = 0
                e.mask = 0
                return e
            }
            var q = SignalQueueEntry()
            for sig in 1...Signals.maxSignal where st.sigPendingShared & (UInt64(1) << UInt64(sig - 1)) != 0 {
                var e = SiginfoEntry()
                var info = [UInt8](repeating: 0, count: 128)
                withUnsafeBytes(of: sig.littleEndian) { for (i, b) in $0.enumerated() { info[i] = b } }
                e.siginfo = .init(info)
                q.signals.append(e)
            }
            tc.signalsS = q
            var cr = CredsEntry()
            cr.uid = st.uid[0]; cr.euid = st.uid[1]; cr.suid = st.uid[2]; cr.fsuid = st.uid[3]
            cr.gid = st.gid[0]; cr.egid = st.gid[1]; cr.sgid = st.gid[2]; cr.fsgid = st.gid[3]
            cr.groups = st.groups
            let split = { (v: UInt64) in [UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32)] }
            cr.capInh = split(st.capInheritable); cr.capPrm = split(st.capPermitted); cr.capEff = split(st.capEffective)
            cr.capBnd = split(st.capBounding); cr.capAmb = split(st.capAmbient)
            cr.secbits = 0
            var th = ThreadCoreEntry()
            th.futexRla = 0
            th.futexRlaLen = 0
            th.creds = cr
            c.threadCore = th
        }
        c.tc = tc
        return c
    }

    static func mm(pid: Int32, reads: TaskReads, stat: TaskStat, plans: [VmaPlan]) throws -> MmEntry {
        var mm = MmEntry()
        mm.mmStartCode = stat.startCode
        mm.mmEndCode = stat.endCode
        mm.mmStartData = stat.startData
        mm.mmEndData = stat.endData
        mm.mmStartStack = stat.startStack
        mm.mmStartBrk = stat.startBrk
        mm.mmBrk = reads.brk
        mm.mmArgStart = stat.argStart
        mm.mmArgEnd = stat.argEnd
        mm.mmEnvStart = stat.envStart
        mm.mmEnvEnd = stat.envEnd
        for a in try Auxv.read(pid: pid) { mm.mmSavedAuxv += [a.type, a.value] }
        mm.vmas = plans.map(\.entry)
        mm.dumpable = reads.dumpable
        mm.thpDisabled = reads.thpDisabled
        return mm
    }

    /// Kernel-object ids: tasks of a tree made by fork share no mm, fd table, fs or handlers, so each
    /// task's are numbered by its place in the tree; each namespace gets a fixed id of its kind (every task
    /// of a tree is in the root's namespaces).
    static func ids(index: UInt32) -> TaskKobjIdsEntry {
        var ids = TaskKobjIdsEntry()
        ids.vmID = index
        ids.filesID = index
        ids.fsID = index
        ids.sighandID = index
        ids.pidNsID = 2
        ids.netNsID = 3
        ids.ipcNsID = 4
        ids.utsNsID = 5
        ids.mntNsID = 6
        ids.userNsID = 7
        ids.cgroupNsID = 8
        ids.timeNsID = 9
        return ids
    }
}
