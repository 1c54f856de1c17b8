import Glibc
import Compel
import Engine

// Development probe for the BPF task reader (docs/vfork.md).
//   vfork-probe TID            what the reader sees of a thread (e.g. a parent asleep in vfork)
//   vfork-probe --compare PID  seizes a stoppable process and compares the reader with ptrace
let args = Array(CommandLine.arguments.dropFirst())
guard let last = args.last, let tid = Int32(last) else { print("usage: vfork-probe [--compare] TID"); exit(2) }
func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
do {
    let reader = try TaskKernelReader(btf: try BTF.loadVmlinux())
    if args.first == "--compare" {
        let task = try SeizedTask.seize(tid)
        defer { try? task.cure() }
        let b = try BlockedThread.read(tid: tid, reader: reader)
        let regs = try getRegisters(tid: tid), x = try getXsave(tid: tid), m = try getSigmask(tid: tid)
        print("regs equal: \(regs == b.regs)  sigmask equal: \(m == b.blocked)  xsave sizes \(x.bytes.count)/\(b.xsave.bytes.count)")
        let n = min(x.bytes.count, b.xsave.bytes.count)
        let diffs = (0..<n).filter { x.bytes[$0] != b.xsave.bytes[$0] }
        print("xsave differing bytes: \(diffs.count) first: \(diffs.prefix(16)) xstate_bv ptrace \(hex(x.xstateBV)) bpf \(hex(b.xsave.xstateBV))")
        if regs != b.regs {
            withUnsafeBytes(of: regs) { a in withUnsafeBytes(of: b.regs) { c in
                for i in stride(from: 0, to: a.count, by: 8) where a.load(fromByteOffset: i, as: UInt64.self) != c.load(fromByteOffset: i, as: UInt64.self) {
                    print("  reg @\(i): ptrace \(hex(a.load(fromByteOffset: i, as: UInt64.self))) bpf \(hex(c.load(fromByteOffset: i, as: UInt64.self)))")
                }
            } }
        }
    } else {
        let b = try BlockedThread.read(tid: tid, reader: reader)
        print("rip=\(hex(b.regs.rip)) rsp=\(hex(b.regs.rsp)) rbp=\(hex(b.regs.rbp)) orig_rax=\(Int64(bitPattern: b.regs.orig_rax)) rax=\(Int64(bitPattern: b.regs.rax)) fsbase=\(hex(b.regs.fs_base))")
        print("blocked=\(hex(b.blocked)) xstate_bv=\(hex(b.xsave.xstateBV)) rseq=\(hex(b.rseq.address))/\(b.rseq.length)/\(hex(UInt64(b.rseq.signature))) clear_child_tid=\(hex(b.clearChildTid)) robust=\(hex(b.robustList)) pdeath=\(b.pdeathSignal) pers=\(b.personality) sas=\(hex(b.altStack.sp))")
        print("SIGINT action handler \(hex(b.actions[1].handler)) flags \(hex(b.actions[1].flags))")
    }
} catch {
    print("vfork-probe: \(error)"); exit(1)
}
