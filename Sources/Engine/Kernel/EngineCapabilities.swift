/// What this engine can checkpoint and restore, as `criu check --feature cr_NAME` reports it. Test suites
/// ask for these so that a test of something not built yet is skipped with the reason, never passed.
public enum EngineCapabilities {
    /// (name, supported, what it covers)
    public static let all: [(name: String, supported: Bool, summary: String)] = [
        ("cr_single_task", true, "one single-threaded process: memory, registers, signals, timers, creds, regular files"),
        ("cr_shared_anon", true, "shared anonymous memory within one process"),
        ("cr_threads", true, "multi-threaded processes"),
        ("cr_process_tree", true, "trees of processes, sessions, zombies"),
        ("cr_pipe", true, "pipes and their data"),
        ("cr_fifo", true, "FIFOs"),
        ("cr_pipe_between_tasks", true, "a pipe whose ends different processes hold"),
        ("cr_unix_socket", false, "unix sockets"),
        ("cr_inet_socket", false, "TCP and UDP sockets"),
        ("cr_eventfd", true, "eventfd"),
        ("cr_epoll", true, "epoll"),
        ("cr_signalfd", true, "signalfd"),
        ("cr_timerfd", true, "timerfd"),
        ("cr_inotify", true, "inotify"),
        ("cr_memfd", true, "memfd, mapped and not"),
        ("cr_fanotify", true, "fanotify groups and their inode and mount marks"),
        ("cr_memfd_fd", true, "memfd file descriptors (not mapped)"),
        ("cr_pidfd", true, "pidfds to tasks of the dumped tree, zombies included"),
        ("cr_tty", true, "terminals and ptys"),
        ("cr_ghost_file", true, "open files that were unlinked"),
        ("cr_link_remap", true, "deleted files with other links (--link-remap), hard links"),
        ("cr_file_owner", true, "F_SETOWN/F_SETSIG state of files"),
        ("cr_file_locks", true, "POSIX, OFD and flock file locks (--file-locks)"),
        ("cr_sysvipc", false, "SysV IPC"),
        ("cr_namespaces", true, "pid, mount, net, ipc and uts namespaces"),
        ("cr_user_ns", false, "user namespaces"),
        ("cr_uts_ns", true, "UTS namespaces"),
        ("cr_cpu_affinity", true, "CPU affinity"),
        ("cr_clone_files", true, "an fd table a parent shares with its children (CLONE_FILES)"),
        ("cr_vfork", true, "a parent inside vfork() and its child"),
        ("cr_clone_vm", true, "processes sharing their parent's address space and signal handlers (CLONE_VM, CLONE_SIGHAND)"),
    ]

    static var features: [KernelFeature] {
        all.map { c in
            KernelFeature(c.name, c.summary, required: false) {
                // A parent inside vfork is read with the BPF task reader, which the kernel may not allow.
                if c.supported && c.name == "cr_vfork", case .missing(let why) = BPFProbes.taskReader() {
                    return .missing("this kernel does not let criu read a task inside vfork: \(why)")
                }
                return c.supported ? .present("this criu restores \(c.summary)")
                                   : .missing("this criu cannot checkpoint \(c.summary) yet")
            }
        }
    }
}
