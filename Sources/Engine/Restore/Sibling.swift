import CSys
import Glibc

/// `--restore-sibling`: the root is created with CLONE_PARENT, so it becomes a child of criu's parent
/// (the caller, e.g. a container runtime that wants to wait for it itself) instead of criu's. criu still
/// ptraces it as root. The root's PDEATHSIG then follows the caller, not criu; a failed restore kills it
/// by pid, and the caller reaps it.
func forkSiblingAtPid(_ pid: Int32) -> Int {
    var tid = pid
    return withUnsafeMutablePointer(to: &tid) { p in
        var args = csys_clone_args()
        args.flags = UInt64(CSYS_CLONE_PARENT)
        // With CLONE_PARENT the kernel takes the exit signal from the caller's own; 0 is what it expects.
        args.exit_signal = 0
        args.set_tid = UInt64(UInt(bitPattern: p))
        args.set_tid_size = 1
        return csys_sys_clone3(&args, MemoryLayout<csys_clone_args>.size)
    }
}
