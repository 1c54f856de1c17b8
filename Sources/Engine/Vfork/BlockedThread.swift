import Glibc
import CSys
import Compel

/// What a dump needs of a thread that ptrace cannot stop (a parent asleep in vfork), read from the kernel
/// through TaskKernelReader: the same values PTRACE_GETREGS / GETREGSET / GETSIGMASK and the injected
/// syscalls give for a stopped thread. A sleeping thread's user state is at rest in memory: pt_regs on
/// its kernel stack, the FPU registers in its fpstate (saved when it was switched out).
public struct BlockedThread {
    public var regs: GeneralRegisters
    public var xsave: XsaveArea
    public var blocked: UInt64
    /// handler, flags, restorer, mask of signals 1...64
    public var actions: [(handler: UInt64, flags: UInt64, restorer: UInt64, mask: UInt64)]
    public var altStack: (sp: UInt64, size: UInt64, flags: UInt32)
    public var rseq: (address: UInt64, length: UInt32, signature: UInt32)
    public var clearChildTid: UInt64
    public var robustList: UInt64
    public var pdeathSignal: Int32
    public var personality: UInt32

    /// Offsets the reads use, from the running kernel's BTF.
    struct Layout {
        let taskSize: Int
        let fsbase, gsbase, fsindex, gsindex, es, ds, pkru: Int
        let blocked, sighand, action, sas, sasSize, sasFlags: Int
        let rseq, rseqLen, rseqSig, clearChildTid, robustList, pdeath, personality: Int
        let fpstate, fpregs, userSize: Int

        init(_ btf: BTF) throws {
            func t(_ path: String) throws -> Int { try btf.offset(of: path, in: "task_struct").offset }
            taskSize = try btf.structSize("task_struct")
            fsbase = try t("thread.fsbase"); gsbase = try t("thread.gsbase")
            fsindex = try t("thread.fsindex"); gsindex = try t("thread.gsindex")
            es = try t("thread.es"); ds = try t("thread.ds"); pkru = try t("thread.pkru")
            blocked = try t("blocked"); sighand = try t("sighand")
            action = try btf.offset(of: "action", in: "sighand_struct").offset
            sas = try t("sas_ss_sp"); sasSize = try t("sas_ss_size"); sasFlags = try t("sas_ss_flags")
            rseq = try t("rseq"); rseqLen = try t("rseq_len"); rseqSig = try t("rseq_sig")
            clearChildTid = try t("clear_child_tid"); robustList = try t("robust_list")
            pdeath = try t("pdeath_signal"); personality = try t("personality")
            // Since 6.16 struct fpu sits right after task_struct (x86_task_fpu()); older kernels had it in
            // thread_struct, which we do not read.
            if (try? btf.offset(of: "thread.fpu", in: "task_struct")) != nil {
                throw EngineError("read task state with BPF", path: BTF.vmlinuxPath, reason: "struct fpu inside thread_struct (kernel before 6.16) is not supported")
            }
            fpstate = try btf.offset(of: "fpstate", in: "fpu").offset
            fpregs = try btf.offset(of: "regs", in: "fpstate").offset
            userSize = try btf.offset(of: "user_size", in: "fpstate").offset
        }
    }

    public static func read(tid: Int32, reader: TaskKernelReader) throws -> BlockedThread {
        let l = try Layout(reader.btf)
        let task = TaskKernelReader.Base.task(derefs: [])
        let fpstate = TaskKernelReader.Base.task(derefs: [l.taskSize + l.fpstate])
        // First pass: the kernel's fpstate size and the compacted-format bits, to size the second read.
        let head = try reader.read(tid: tid, [.init(fpstate, offset: 0, length: 8), .init(fpstate, offset: l.fpregs + 512, length: 16)])
        let kernelSize = Int(le32(head[0], 0))
        guard kernelSize >= 576, kernelSize <= 1 << 16 else {
            throw EngineError("read FPU state", pid: tid, reason: "implausible fpstate size \(kernelSize)")
        }
        let p = try reader.read(tid: tid, [
            .init(.userRegs, offset: 0, length: 168),
            .init(task, offset: l.fsbase, length: 16),          // fsbase, gsbase
            .init(task, offset: l.es, length: 8),               // es, ds, fsindex, gsindex (u16 each)
            .init(task, offset: l.pkru, length: 4),
            .init(task, offset: l.blocked, length: 8),
            .init(.task(derefs: [l.sighand]), offset: l.action, length: 64 * 32),
            .init(task, offset: l.sas, length: 8), .init(task, offset: l.sasSize, length: 8), .init(task, offset: l.sasFlags, length: 4),
            .init(task, offset: l.rseq, length: 8), .init(task, offset: l.rseqLen, length: 4), .init(task, offset: l.rseqSig, length: 4),
            .init(task, offset: l.clearChildTid, length: 8), .init(task, offset: l.robustList, length: 8),
            .init(task, offset: l.pdeath, length: 4), .init(task, offset: l.personality, length: 4),
            .init(fpstate, offset: l.fpregs, length: kernelSize),
        ])
        var regs = GeneralRegisters()
        withUnsafeMutableBytes(of: &regs) { r in
            for i in 0..<168 { r[i] = p[0][i] }
        }
        regs.fs_base = le64(p[1], 0)
        regs.gs_base = le64(p[1], 8)
        regs.es = UInt64(le16(p[2], 0)); regs.ds = UInt64(le16(p[2], 2))
        regs.fs = UInt64(le16(p[2], 4)); regs.gs = UInt64(le16(p[2], 6))
        let actions = (0..<64).map { i in
            (handler: le64(p[5], i * 32), flags: le64(p[5], i * 32 + 8), restorer: le64(p[5], i * 32 + 16), mask: le64(p[5], i * 32 + 24))
        }
        let xsave = try XsaveLayout.standard(fromKernel: p[16], pkru: le32(p[3], 0), pid: tid)
        return BlockedThread(regs: regs, xsave: xsave, blocked: le64(p[4], 0), actions: actions,
                             altStack: (le64(p[6], 0), le64(p[7], 0), le32(p[8], 0)),
                             rseq: (le64(p[9], 0), le32(p[10], 0), le32(p[11], 0)),
                             clearChildTid: le64(p[12], 0), robustList: le64(p[13], 0),
                             pdeathSignal: Int32(bitPattern: le32(p[14], 0)), personality: le32(p[15], 0))
    }
}

func le16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
func le32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
func le64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
