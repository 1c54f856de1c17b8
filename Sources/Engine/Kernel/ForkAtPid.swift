import CSys
import Glibc

/// fork() at a chosen pid: clone3 with one set_tid entry (none when `pid` is nil: the first task of a new
/// pid namespace is always its pid 1) plus extra clone `flags` (CLONE_FS, CLONE_NEW*, CLONE_PARENT).
/// Returns 0 in the child, the child's pid in the parent, -1 with errno set on failure (EEXIST: the pid
/// is taken).
func forkAtPid(_ pid: Int32?, flags: UInt64 = 0) -> Int {
    var tid = pid ?? 0
    return withUnsafeMutablePointer(to: &tid) { p in
        var args = csys_clone_args()
        args.flags = flags
        // With CLONE_PARENT the kernel takes the exit signal from the caller's own; 0 is what it expects.
        args.exit_signal = flags & UInt64(CSYS_CLONE_PARENT) != 0 ? 0 : UInt64(SIGCHLD)
        if pid != nil {
            args.set_tid = UInt64(UInt(bitPattern: p))
            args.set_tid_size = 1
        }
        return csys_sys_clone3(&args, MemoryLayout<csys_clone_args>.size)
    }
}
