import Glibc
import SystemPackage
import CSys

/// Reads bytes of one thread's kernel state with a BPF task iterator, without stopping the thread. This is
/// how the state of a parent asleep in vfork() is read: ptrace cannot stop it there (docs/vfork.md).
/// The program is assembled per call from a list of reads whose offsets come from the kernel's BTF.
public struct TaskKernelReader {
    /// Where a read starts: the thread's user registers (bpf_task_pt_regs), or task_struct followed through
    /// pointers at the given offsets (each step loads a pointer; a NULL pointer ends the output).
    /// `previous`: the base of the read before, followed on through pointers (walking a list in one
    /// step per read keeps the program linear in its length).
    public enum Base: Sendable { case userRegs; case task(derefs: [Int]); case previous(derefs: [Int]) }

    public struct Read: Sendable {
        public var base: Base
        public var offset: Int
        public var length: Int
        public init(_ base: Base, offset: Int, length: Int) { self.base = base; self.offset = offset; self.length = length }
    }

    public let btf: BTF
    let iterFunc: UInt32
    static let chunk = 256
    static let ptRegsSize = 168

    public init(btf: BTF) throws {
        self.btf = btf
        guard let id = btf.id(of: "bpf_iter_task", kind: .function) else {
            throw EngineError("read task state with BPF", path: BTF.vmlinuxPath, reason: "the kernel has no BPF task iterator (FUNC bpf_iter_task missing from BTF)")
        }
        iterFunc = id
    }

    /// The program: r6 = seq_file, r7 = task (BTF pointer), r9 = task as a plain number, r8 = current base.
    /// Stack: fp-8 scratch for pointer loads, fp-16 spilled task, fp-16-256 the chunk buffer.
    public static func program(_ reads: [Read]) throws -> [UInt64] {
        var a = BPFAssembler()
        let buf: Int32 = -16 - Int32(chunk)
        a.load64(.r6, .r1, 0)          // ctx->meta
        a.load64(.r7, .r1, 8)          // ctx->task, NULL at the end of the walk
        a.jumpIfEqual(.r7, 0, "out")
        a.load64(.r6, .r6, 0)          // meta->seq
        // The task pointer as a number: pointer arithmetic on it is then plain integer arithmetic, and
        // bpf_probe_read_kernel accepts any address.
        a.store64(.r10, -16, .r7)
        readInto(&a, -8, 8, from: .r10, plus: -16)
        a.load64(.r9, .r10, -8)
        for r in reads {
            switch r.base {
            case .userRegs:
                a.mov(.r1, .r7)
                a.call(Int32(CSYS_BPF_FUNC_TASK_PT_REGS))
                a.mov(.r8, .r0)
            case .task(let derefs), .previous(let derefs):
                if case .task = r.base { a.mov(.r8, .r9) }
                for d in derefs {
                    readInto(&a, -8, 8, from: .r8, plus: Int32(d))
                    a.load64(.r8, .r10, -8)
                    a.jumpIfEqual(.r8, 0, "out")
                }
            }
            var done = 0
            while done < r.length {
                let n = min(chunk, r.length - done)
                readInto(&a, buf, Int32(n), from: .r8, plus: Int32(r.offset + done))
                a.mov(.r1, .r6)
                a.mov(.r2, .r10)
                a.add(.r2, buf)
                a.mov(.r3, Int32(n))
                a.call(Int32(CSYS_BPF_FUNC_SEQ_WRITE))
                a.jumpIfNotEqual(.r0, 0, "out")
                done += n
            }
        }
        a.label("out")
        a.mov(.r0, 0)
        a.exit()
        return try a.assemble()
    }

    /// bpf_probe_read_kernel(fp+dst, len, src+plus); a failed read ends the output.
    private static func readInto(_ a: inout BPFAssembler, _ dst: Int32, _ len: Int32, from src: BPFAssembler.Reg, plus: Int32) {
        a.mov(.r1, .r10)
        a.add(.r1, dst)
        a.mov(.r2, len)
        a.mov(.r3, src)
        if plus != 0 { a.add(.r3, plus) }
        a.call(Int32(CSYS_BPF_FUNC_PROBE_READ_KERNEL))
        a.jumpIfNotEqual(.r0, 0, "out")
    }

    /// Runs the reads against thread `tid` and returns one byte array per read.
    public func read(tid: Int32, _ reads: [Read]) throws -> [[UInt8]] {
        let insns = try TaskKernelReader.program(reads)
        var log = [CChar](repeating: 0, count: 1 << 16)
        let prog = insns.withUnsafeBytes { p in
            csys_bpf_prog_load_task_iter(p.baseAddress, UInt32(insns.count), "GPL", &log, UInt32(log.count), iterFunc)
        }
        if prog < 0 {
            let e = Errno(rawValue: errno)
            let logText = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let text = logText.split(separator: "\n").suffix(3).joined(separator: " | ")
            throw EngineError("load the BPF task reader", pid: tid, errno: e, reason: text.isEmpty ? nil : "verifier: \(text)")
        }
        defer { close(prog) }
        let link = csys_bpf_link_create_task_iter(prog, UInt32(tid))
        guard link >= 0 else { throw EngineError("attach the BPF task reader", pid: tid, errno: Errno(rawValue: errno)) }
        defer { close(link) }
        let fd = csys_bpf_iter_create(link)
        guard fd >= 0 else { throw EngineError("create the BPF task iterator", pid: tid, errno: Errno(rawValue: errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw EngineError("read the BPF task iterator", pid: tid, errno: Errno(rawValue: errno))
            }
            if n == 0 { break }
            out += buf[0..<n]
        }
        let want = reads.reduce(0) { $0 + $1.length }
        if out.isEmpty { throw EngineError("read kernel state", pid: tid, reason: "no such thread (the task iterator did not visit it)") }
        guard out.count == want else {
            var at = 0, i = 0
            while i < reads.count, at + reads[i].length <= out.count { at += reads[i].length; i += 1 }
            throw EngineError("read kernel state", pid: tid, reason: "the kernel read stopped at item \(i) of \(reads.count) (NULL pointer or unreadable address)")
        }
        var parts: [[UInt8]] = []
        var at = 0
        for r in reads { parts.append(Array(out[at..<at + r.length])); at += r.length }
        return parts
    }
}
