import Glibc

extension SeizedTask {
    /// Takes back what injection changed in the task while keeping it seized: shared areas and added mappings
    /// unmapped, each thread's signal mask, registers and stack put back.
    ///
    /// Call it before a long phase that only reads the task from outside (process_vm_readv): if the tracer
    /// is killed then, the kernel detaches the task and it runs on as it was, instead of with every signal
    /// blocked and an extra memfd mapping. A later injection blocks signals again as needed.
    public func settle() throws {
        for area in sharedAreas.reversed() { try destroySharedArea(area) }
        for m in addedMappings.reversed() { try unmapRemote(m.addr) }
        for t in threads where !t.detached {
            if let m = t.savedSigmask {
                try setSigmask(tid: t.tid, m)
                t.savedSigmask = nil
            }
            try disarm(t)
        }
    }
}
