import Glibc
import CSys

/// A parent inside vfork() sleeps in the kernel (killable only) until its child execs or exits, and the
/// child runs on the parent's memory and stack. ptrace cannot stop the parent there (PTRACE_INTERRUPT
/// waits for a return to user space that never comes while the child lives). Its state can be read with a
/// BPF task iterator and the pair rebuilt at PTRACE_EVENT_VFORK (docs/vfork.md), but dump and restore are
/// not wired to those yet, so such a tree is refused before seizing, with the reason, rather than timing
/// out on the seize.
enum VforkCheck {
    static func refuse(_ pid: Int32) throws {
        guard let wchan = try? ProcFile.readText("/proc/\(pid)/wchan"), wchan.hasPrefix("kernel_clone") else { return }
        let kids = (try? Tasks.children(pid: pid)) ?? []
        guard let child = kids.first(where: { csys_sys_kcmp(pid, $0, SharedTaskState.kcmpVM, 0, 0) == 0 }) else { return }
        throw EngineError("dump", pid: pid,
                          reason: "is inside vfork(), waiting for its child \(child) that runs on its memory; a task inside vfork cannot be stopped or dumped until the child execs or exits")
    }
}
