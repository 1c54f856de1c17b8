import Glibc

/// Whether a thread ptrace cannot stop (a parent inside vfork) can have its state read through a BPF task
/// iterator (docs/vfork.md): kernel BTF, the task iterator with its tid filter, bpf() with CAP_BPF and
/// CAP_PERFMON, and bpf_probe_read_kernel allowed (lockdown "confidentiality" forbids it).
enum BPFProbes {
    @Sendable static func taskReader() -> ProbeResult {
        do {
            let reader = try TaskKernelReader(btf: try BTF.loadVmlinux())
            let fs = try reader.btf.offset(of: "thread.fsbase", in: "task_struct").offset
            let tid = getpid()
            let got = try reader.read(tid: tid, [.init(.task(derefs: []), offset: fs, length: 8)])
            return got.first?.count == 8 ? .present("BPF task iterator reads task_struct of tid \(tid)")
                                         : .missing("BPF task iterator returned nothing")
        } catch {
            return .missing("\(error)")
        }
    }
}
