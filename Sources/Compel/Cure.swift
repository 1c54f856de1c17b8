import CSys
import Glibc
import SystemPackage

extension SeizedTask {
    /// Removes every trace Compel left and detaches: shared areas and mappings unmapped, a patched syscall
    /// site restored, then per thread the FPU state, registers and signal mask put back, held-back signals
    /// sent again, and PTRACE_DETACH. Threads that were running run; a stopped task stays in its group-stop.
    /// Goes on past failures (a thread that died) and throws the first one at the end.
    public func cure() throws {
        guard !cured else { return }
        var firstError: Error?
        func attempt(_ body: () throws -> Void) {
            do { try body() } catch { if firstError == nil { firstError = error } }
        }
        for area in sharedAreas.reversed() { attempt { try destroySharedArea(area) } }
        for m in addedMappings.reversed() { attempt { try unmapRemote(m.addr) } }
        if let p = patchedSite {
            attempt { try writeMemory(at: p.addr, bytes: p.original) }
            patchedSite = nil
            syscallSite = nil
        }
        for t in threads where !t.detached {
            attempt {
                if let x = t.savedXsave { try setXsave(tid: t.tid, x) }
                // The mask first: a thread parked on its way back gets it back there too if criu dies now.
                if let m = t.savedSigmask { try setSigmask(tid: t.tid, m) }
                if t.touched { try setRegisters(tid: t.tid, t.resumeRegisters) }
                try disarm(t)
            }
            for s in t.caughtSignals { _ = csys_tgkill(pid, t.tid, s) }
            if csys_ptrace(Int(CSYS_PTRACE_DETACH), t.tid, nil, nil) < 0 {
                let e = Errno(rawValue: errno)
                if firstError == nil { firstError = CompelError(pid: t.tid, "PTRACE_DETACH", errno: e) }
                if e == .noSuchProcess && t.tid != pid { reapDeadThread(t.tid) }
            }
            t.detached = true
        }
        cured = true
        if memFd >= 0 { close(memFd); memFd = -1 }
        if pidFd >= 0 { close(pidFd); pidFd = -1 }
        if let e = firstError { throw e }
    }

    /// A traced thread that died stays a zombie until its tracer collects it, and keeps its thread group from
    /// being reaped by the parent; collect it (bounded: it may still be on its way out).
    func reapDeadThread(_ tid: pid_t) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            var st: Int32 = 0
            let r = csys_waitpid(tid, &st, CSYS_WALL | CSYS_WNOHANG)
            if r < 0 && errno != EINTR { return }
            if r == tid && csys_wifstopped(st) == 0 { return }
            if r == 0 { usleep(1000) }
        }
    }
}
