import SystemPackage

/// What one probe of the running kernel found.
public enum ProbeResult: Sendable, Equatable {
    case present(String)
    case missing(String)

    public var isPresent: Bool {
        if case .present = self { return true }
        return false
    }

    public var detail: String {
        switch self {
        case .present(let d), .missing(let d): return d
        }
    }

    /// A missing result carrying the errno text of the call that failed.
    static func failed(_ call: String, _ err: Int32) -> ProbeResult {
        .missing("\(call): \(Errno(rawValue: err).description)")
    }
}

/// A kernel feature the engine relies on, named as CRIU names it where CRIU has the same check.
public struct KernelFeature: Sendable {
    public let name: String
    public let summary: String
    /// Required features make `criu check` fail when missing; the others are reported as warnings.
    public let required: Bool
    public let probe: @Sendable () -> ProbeResult

    public init(_ name: String, _ summary: String, required: Bool, probe: @escaping @Sendable () -> ProbeResult) {
        self.name = name
        self.summary = summary
        self.required = required
        self.probe = probe
    }
}

public enum KernelFeatures {
    /// Every feature `criu check` knows, in the order it reports them.
    public static let all: [KernelFeature] = [
        KernelFeature("ptrace_seize", "PTRACE_SEIZE and PTRACE_INTERRUPT", required: true, probe: PtraceProbes.seizeInterrupt),
        KernelFeature("get_rseq_conf", "PTRACE_GET_RSEQ_CONFIGURATION", required: true, probe: PtraceProbes.rseqConfiguration),
        KernelFeature("seccomp_suspend", "PTRACE_O_SUSPEND_SECCOMP", required: true, probe: PtraceProbes.suspendSeccomp),
        KernelFeature("seccomp_filters", "PTRACE_SECCOMP_GET_FILTER", required: true, probe: PtraceProbes.seccompFilters),
        KernelFeature("pidfd_store", "pidfd_open and pidfd_getfd", required: true, probe: FileProbes.pidfdStore),
        KernelFeature("clone3_set_tid", "clone3 with set_tid", required: true, probe: TaskProbes.clone3SetTid),
        KernelFeature("can_map_vdso", "arch_prctl(ARCH_MAP_VDSO_64)", required: true, probe: TaskProbes.canMapVdso),
        KernelFeature("vdso_layout", "[vvar][vvar_vclock][vdso] adjacent", required: true, probe: TaskProbes.vdsoLayout),
        KernelFeature("cap_checkpoint_restore", "CAP_CHECKPOINT_RESTORE in the effective set", required: true, probe: TaskProbes.capCheckpointRestore),
        KernelFeature("mnt_id", "mnt_id in /proc/PID/fdinfo", required: true, probe: FileProbes.mntId),
        KernelFeature("ns_pid", "NSpid in /proc/PID/status", required: true, probe: NamespaceProbes.nsPid),
        KernelFeature("pagemap_scan", "PAGEMAP_SCAN ioctl on /proc/PID/pagemap", required: true, probe: MemoryProbes.pagemapScan),
        KernelFeature("uffd", "userfaultfd", required: false, probe: MemoryProbes.uffd),
        KernelFeature("uffd-noncoop", "userfaultfd fork/remap/remove/unmap events", required: false, probe: MemoryProbes.uffdNonCoop),
        KernelFeature("uffd_wp_async", "userfaultfd asynchronous write-protect", required: false, probe: MemoryProbes.uffdWriteProtectAsync),
        KernelFeature("soft_dirty", "soft-dirty bits in /proc/PID/pagemap", required: false, probe: MemoryProbes.softDirty),
        KernelFeature("mem_dirty_track", "dirty page tracking (soft-dirty, or PAGEMAP_SCAN with uffd write-protect)", required: false, probe: MemoryProbes.dirtyTracking),
        KernelFeature("timens", "time namespaces", required: false, probe: NamespaceProbes.timens),
        KernelFeature("userns", "user namespaces", required: false, probe: NamespaceProbes.userns),
        KernelFeature("cgroupns", "cgroup namespaces", required: false, probe: NamespaceProbes.cgroupns),
        KernelFeature("loginuid", "/proc/PID/loginuid", required: false, probe: NamespaceProbes.loginuid),
        KernelFeature("timerfd", "TFD_IOC_SET_TICKS", required: false, probe: FileProbes.timerfdTicks),
        KernelFeature("fdinfo_lock", "file locks in /proc/PID/fdinfo", required: false, probe: FileProbes.fdinfoLock),
        KernelFeature("kcmp_epoll", "kcmp(KCMP_EPOLL_TFD)", required: false, probe: FileProbes.kcmpEpoll),
        KernelFeature("openat2", "openat2", required: false, probe: FileProbes.openat2),
        KernelFeature("memfd_hugetlb", "memfd_create(MFD_HUGETLB)", required: false, probe: FileProbes.memfdHugetlb),
        KernelFeature("timer_cr_ids", "PR_TIMER_CREATE_RESTORE_IDS", required: false, probe: TaskProbes.timerRestoreIds),
        KernelFeature("bpf_task_reader", "reading a task's state with a BPF task iterator (kernel BTF, CAP_BPF)", required: false, probe: BPFProbes.taskReader),
    ]

    /// Kernel features and engine capabilities: what `--feature NAME` accepts.
    public static func named(_ name: String) -> KernelFeature? {
        all.first { $0.name == name } ?? EngineCapabilities.features.first { $0.name == name }
    }
}
