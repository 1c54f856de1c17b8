import CSys
import Glibc

/// fork() at a chosen pid: clone3 with one set_tid entry and SIGCHLD as exit signal. Returns 0 in the
/// child, the child's pid in the parent, -1 with errno set on failure (EEXIST: the pid is taken).
func forkAtPid(_ pid: Int32) -> Int {
    var tid = pid
    return withUnsafeMutablePointer(to: &tid) { p in
        var args = csys_clone_args()
        args.exit_signal = UInt64(SIGCHLD)
        args.set_tid = UInt64(UInt(bitPattern: p))
        args.set_tid_size = 1
        return csys_sys_clone3(&args, MemoryLayout<csys_clone_args>.size)
    }
}
