import Glibc
import CSys
import Images

/// Everything of a task but its memory, restored from inside by injected syscalls once the memory is back,
/// in an order that works: what needs privileges first, then the creds, then what a uid change resets.
struct TaskRestore {
    let r: Remote
    let images: ImageSet

    func run() throws {
        let core = images.core
        let tc = core.tc, th = core.threadCore
        try Signals.restoreActions(r, tc.sigactions)
        try TaskProps.restoreLimits(r, tc)
        try TaskProps.restoreTaskCore(r, tc)
        try TaskProps.restoreThreadCore(r, th, clearTid: core.threadInfo.clearTidAddr_p)
        if th.hasSas { try Signals.restoreAltStack(r, th.sas) }
        if tc.hasTimers {
            try TimerState.restoreItimers(r, tc.timers)
            try TimerState.restorePosix(r, tc.timers.posix)
        }
        if tc.hasSignalsS { try Signals.restorePending(r, tgid: images.pid, tid: images.pid, tc.signalsS, shared: true) }
        if th.hasSignalsP { try Signals.restorePending(r, tgid: images.pid, tid: images.pid, th.signalsP, shared: false) }
        try TaskProps.restoreProcKnobs(pid: r.pid, tc)
        if th.hasCreds { try Creds.restore(r, th.creds) }
        try TaskProps.restoreAfterCreds(r, images.mm, th, timerslack: th.hasTimerslackNs ? th.timerslackNs : nil)
        try TaskProps.restoreScheduling(pid: r.pid, th)
    }
}
