import Glibc
import CSys

/// A parent inside vfork() sleeps in the kernel (killable only) until its child execs or exits, and the
/// child runs on the parent's memory and stack. ptrace cannot stop the parent there, so it is left
/// unseized: its state is read with a BPF task iterator (VforkParent.swift, docs/vfork.md) and its
/// memory through the seized child. Without a usable BPF task reader such a tree is refused before
/// seizing, with the reason, rather than timing out on the seize.
enum VforkCheck {
    /// The child `pid` waits for, if `pid` is inside vfork (asleep in clone with a child on its memory).
    static func child(of pid: Int32) -> Int32? {
        guard let wchan = try? ProcFile.readText("/proc/\(pid)/wchan"), wchan.hasPrefix("kernel_clone") else { return nil }
        let kids = (try? Tasks.children(pid: pid)) ?? []
        return kids.first(where: { csys_sys_kcmp(pid, $0, SharedTaskState.kcmpVM, 0, 0) == 0 })
    }

    /// The reader for a parent inside vfork, or the refusal naming it and why it cannot be read.
    static func reader(for pid: Int32, child: Int32) throws -> TaskKernelReader {
        do { return try TaskKernelReader(btf: try BTF.vmlinux.get()) } catch {
            throw EngineError("dump", pid: pid,
                              reason: "is inside vfork(), waiting for its child \(child) that runs on its memory, and cannot be stopped; its state cannot be read without the BPF task reader: \(error)")
        }
    }
}
