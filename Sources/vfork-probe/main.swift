import Glibc
import Engine

// Development probe: prints what the BPF task reader sees of a thread (user registers, fs/gs base) next to
// /proc/TID/syscall, so a parent asleep in vfork() can be checked by hand.
guard CommandLine.arguments.count == 2, let tid = Int32(CommandLine.arguments[1]) else {
    print("usage: vfork-probe TID"); exit(2)
}
do {
    let btf = try BTF.loadVmlinux()
    let fs = try btf.offset(of: "thread.fsbase", in: "task_struct").offset
    let gs = try btf.offset(of: "thread.gsbase", in: "task_struct").offset
    let reader = try TaskKernelReader(btf: btf)
    let parts = try reader.read(tid: tid, [.init(.userRegs, offset: 0, length: 168), .init(.task(derefs: []), offset: fs, length: 8),
                                           .init(.task(derefs: []), offset: gs, length: 8)])
    func q(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
    let r = parts[0]
    print("rip=0x\(String(q(r, 128), radix: 16)) rsp=0x\(String(q(r, 152), radix: 16)) orig_rax=\(Int64(bitPattern: q(r, 120))) rax=\(Int64(bitPattern: q(r, 80))) fsbase=0x\(String(q(parts[1], 0), radix: 16)) gsbase=0x\(String(q(parts[2], 0), radix: 16))")
} catch {
    print("vfork-probe: \(error)"); exit(1)
}
