import CSys
import Glibc
import SystemPackage

/// Endings other than cure: killing a task we hold (after a dump), and handing over a task whose whole
/// address space we replaced (after a restore; `detachAll` in Threads.swift sets the new registers).
extension SeizedTask {
    /// Kills the task with SIGKILL while we hold it and consumes the tracer's exit notifications, so the
    /// task's real parent sees it die. Nothing of Compel's is left to undo: the task is gone.
    public func killAndRelease() throws {
        guard !cured else { return }
        // A thread we trace but do not hold (a helper whose adoption failed) keeps the leader from being
        // reported until we reap it too: list them while they are still there.
        let unheld = ((try? listThreads(pid: pid)) ?? []).filter { tid in !threads.contains { $0.tid == tid } }
        if csys_tgkill(pid, pid, SIGKILL) < 0 && errno != ESRCH {
            throw CompelError(pid: pid, "kill", errno: Errno(rawValue: errno))
        }
        // Freeing the memory is most of the wait below (~45 ms per 256 MiB), in the task's exit path.
        // process_mrelease cannot share it: the woken task detaches its mm within microseconds, and the
        // call then finds none (ESRCH every time here; docs/benchmarks.md, "Kill and wait").
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        // Each death of a thread we trace sends us SIGCHLD: held blocked, it ends the wait below as soon
        // as the thread is reaped (naps overslept it by up to a millisecond). A SIGCHLD that is pending
        // from an earlier stop only costs one more look. In a process with other threads (a test host)
        // one of them may take the signal instead: the bound below keeps that to a millisecond. The
        // engine relies on no SIGCHLD of its own (its disposition stays the default, ignore).
        var chld = sigset_t()
        sigemptyset(&chld)
        sigaddset(&chld, SIGCHLD)
        var oldMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &chld, &oldMask)
        defer { pthread_sigmask(SIG_SETMASK, &oldMask, nil) }
        // The leader is reported only once its group is empty, and traced threads stay until we reap them:
        // reap the other threads first.
        let ordered = unheld.map { SeizedThread(tid: $0, wasStopped: false, regs: GeneralRegisters()) }
            + threads.filter { $0.tid != pid } + threads.filter { $0.tid == pid }
        for t in ordered where !t.detached {
            while true {
                var status: Int32 = 0
                let r = csys_waitpid(t.tid, &status, CSYS_WALL | CSYS_WNOHANG)
                if r == t.tid && (csys_wifexited(status) != 0 || csys_wifsignaled(status) != 0) { break }
                if r < 0 && errno != EINTR { break }  // ECHILD: already reaped by its parent
                if r == 0 {
                    if clock.now >= deadline {
                        throw CompelError(pid: t.tid, "wait for killed task", errno: .timedOut)
                    }
                    // Bounded, so that the deadline is still checked if no signal comes.
                    var ts = timespec(tv_sec: 0, tv_nsec: 1_000_000)
                    _ = sigtimedwait(&chld, nil, &ts)
                }
            }
            t.detached = true
        }
        forgetAddressSpace()
        cured = true
    }

    /// Runs injected syscalls through a `syscall` instruction at `address` from now on (a restorer's own
    /// trampoline, once the task's vdso is gone).
    public func useSyscallSite(_ address: UInt64) {
        syscallSite = address
        patchedSite = nil
    }

    /// Forgets the mappings Compel added: the caller replaced the address space, so there is nothing of
    /// ours in it to unmap any more. Our side of each shared area is unmapped.
    public func forgetAddressSpace() {
        for a in sharedAreas {
            RobustOwner.release(within: a.local, length: a.size)
            munmap(a.local, a.size)
        }
        sharedAreas = []
        threads.forEach { $0.lifeline = nil }
        healOwner = nil
        healClose = nil
        healUnmap = nil
        addedMappings = []
        patchedSite = nil
        batchCode = nil
    }
}
