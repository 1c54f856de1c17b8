import Glibc
import CSys
import Compel
import Images

/// Builds the core, mm and ids entries of one single-threaded task.
enum TaskDump {
    static let taskAlive: UInt32 = 1, taskStopped: UInt32 = 3

    static func core(_ r: Remote, regs: GeneralRegisters, xsave: XsaveArea, sigmask: UInt64, status: TaskStatus,
                     stat: TaskStat, stopped: Bool) throws -> CoreEntry {
        var ti = ThreadInfoX86()
        ti.clearTidAddr_p = try TaskProps.clearTidAddress(r)
        ti.gpregs = CpuState.entry(regs)
        ti.fpregs = CpuState.fpregs(xsave)

        var tc = TaskCoreEntry()
        tc.taskState = stopped ? taskStopped : taskAlive
        if stopped { tc.stopSigno = UInt32(SIGSTOP) }
        tc.exitCode = 0
        tc.blkSigset = sigmask
        tc.sigactions = try Signals.dumpActions(r)
        let it = try TimerState.dumpItimers(r)
        var timers = TaskTimersEntry()
        timers.real = it.real
        timers.virt = it.virt
        timers.prof = it.prof
        timers.posix = try TimerState.dumpPosix(r)
        tc.timers = timers
        tc.signalsS = try Signals.dumpPending(tid: r.pid, shared: true)
        try TaskProps.dumpTaskCore(r, &tc, stat: stat)

        var th = ThreadCoreEntry()
        try TaskProps.dumpThreadCore(r, &th, tid: r.pid, stat: stat)
        th.blkSigset = sigmask
        th.sas = try Signals.dumpAltStack(r)
        th.signalsP = try Signals.dumpPending(tid: r.pid, shared: false)
        th.creds = try Creds.dump(r, status: status)
        th.seccompMode = .disabled
        th.timerslackNs = try TaskProps.timerslack(r)
        th.cpuAffinity = try TaskProps.dumpAffinity(tid: r.pid)

        var c = CoreEntry()
        c.mtype = .x8664
        c.threadInfo = ti
        c.tc = tc
        c.threadCore = th
        return c
    }

    static func mm(_ r: Remote, stat: TaskStat, plans: [VmaPlan]) throws -> MmEntry {
        var mm = MmEntry()
        mm.mmStartCode = stat.startCode
        mm.mmEndCode = stat.endCode
        mm.mmStartData = stat.startData
        mm.mmEndData = stat.endData
        mm.mmStartStack = stat.startStack
        mm.mmStartBrk = stat.startBrk
        mm.mmBrk = UInt64(try r.call("brk(0)", Int32(CSYS_NR_brk), 0))
        mm.mmArgStart = stat.argStart
        mm.mmArgEnd = stat.argEnd
        mm.mmEnvStart = stat.envStart
        mm.mmEnvEnd = stat.envEnd
        for a in try Auxv.read(pid: r.pid) { mm.mmSavedAuxv += [a.type, a.value] }
        mm.vmas = plans.map(\.entry)
        try TaskProps.dumpMm(r, &mm)
        return mm
    }

    /// Kernel-object ids: one task shares nothing, so its vm, files, fs and sighand are object 1; each
    /// namespace gets a fixed id of its kind (a tree of tasks will number shared ones properly).
    static func ids(pid: Int32) -> TaskKobjIdsEntry {
        var ids = TaskKobjIdsEntry()
        ids.vmID = 1
        ids.filesID = 1
        ids.fsID = 1
        ids.sighandID = 1
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
