import Glibc
import CSys

enum PtraceProbes {
    @Sendable static func seizeInterrupt() -> ProbeResult {
        ProbeChild.withSeized { _ in .present("seized and interrupted a child") }
    }

    @Sendable static func rseqConfiguration() -> ProbeResult {
        ProbeChild.withSeized { pid in
            var conf = csys_rseq_configuration()
            let r = csys_ptrace(Int(CSYS_PTRACE_GET_RSEQ_CONFIGURATION), pid,
                                UnsafeMutableRawPointer(bitPattern: MemoryLayout<csys_rseq_configuration>.size), &conf)
            if r < 0 { return .failed("PTRACE_GET_RSEQ_CONFIGURATION", errno) }
            let registered = conf.rseq_abi_pointer != 0 ? "rseq registered" : "no rseq registered"
            return .present("\(registered), area size \(conf.rseq_abi_size)")
        }
    }

    @Sendable static func suspendSeccomp() -> ProbeResult {
        ProbeChild.withSeized(options: Int(CSYS_PTRACE_O_SUSPEND_SECCOMP)) { _ in
            .present("seized with PTRACE_O_SUSPEND_SECCOMP")
        }
    }

    @Sendable static func seccompFilters() -> ProbeResult {
        let setup: () -> Int32 = {
            if csys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 { return errno }
            return csys_sys_seccomp_allow_all() < 0 ? errno : 0
        }
        return ProbeChild.withSeized(setup: setup) { pid in
            let n = csys_ptrace(Int(CSYS_PTRACE_SECCOMP_GET_FILTER), pid, nil, nil)
            if n < 0 { return .failed("PTRACE_SECCOMP_GET_FILTER", errno) }
            return .present("read a \(n)-instruction filter")
        }
    }
}
