/// Just enough of the eBPF instruction set to emit the task-reader program at run time (the offsets it
/// uses come from the running kernel's BTF, so the program cannot be built ahead of time).
/// Encoding: 8 bytes per instruction, opcode | dst:4 src:4 | off:16 | imm:32, little-endian.
public struct BPFAssembler: Sendable {
    public enum Reg: UInt8, Sendable { case r0 = 0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10 }

    public private(set) var code: [UInt64] = []
    private var labels: [String: Int] = [:]
    private var fixups: [(at: Int, label: String)] = []

    public init() {}

    private mutating func emit(_ op: UInt8, _ dst: Reg = .r0, _ src: Reg = .r0, off: Int16 = 0, imm: Int32 = 0) {
        code.append(BPFAssembler.encode(op, dst, src, off: off, imm: imm))
    }

    public static func encode(_ op: UInt8, _ dst: Reg, _ src: Reg, off: Int16, imm: Int32) -> UInt64 {
        UInt64(op) | UInt64(src.rawValue << 4 | dst.rawValue) << 8 | UInt64(UInt16(bitPattern: off)) << 16
            | UInt64(UInt32(bitPattern: imm)) << 32
    }

    public mutating func mov(_ dst: Reg, _ imm: Int32) { emit(0xb7, dst, imm: imm) }          // ALU64|MOV|K
    public mutating func mov(_ dst: Reg, _ src: Reg) { emit(0xbf, dst, src) }                  // ALU64|MOV|X
    public mutating func add(_ dst: Reg, _ imm: Int32) { emit(0x07, dst, imm: imm) }           // ALU64|ADD|K
    public mutating func load64(_ dst: Reg, _ src: Reg, _ off: Int16) { emit(0x79, dst, src, off: off) }  // LDX|MEM|DW
    public mutating func store64(_ dst: Reg, _ off: Int16, _ src: Reg) { emit(0x7b, dst, src, off: off) } // STX|MEM|DW
    public mutating func call(_ helper: Int32) { emit(0x85, imm: helper) }
    public mutating func exit() { emit(0x95) }

    /// if dst == imm goto label
    public mutating func jumpIfEqual(_ dst: Reg, _ imm: Int32, _ label: String) { branch(0x15, dst, imm, label) }
    /// if dst != imm goto label
    public mutating func jumpIfNotEqual(_ dst: Reg, _ imm: Int32, _ label: String) { branch(0x55, dst, imm, label) }

    private mutating func branch(_ op: UInt8, _ dst: Reg, _ imm: Int32, _ label: String) {
        fixups.append((code.count, label))
        emit(op, dst, imm: imm)
    }

    public mutating func label(_ name: String) { labels[name] = code.count }

    /// The finished program with jump offsets filled in (relative to the next instruction).
    public func assemble() throws -> [UInt64] {
        var out = code
        for f in fixups {
            guard let target = labels[f.label] else { throw EngineError("assemble BPF program", reason: "undefined label \(f.label)") }
            let rel = target - f.at - 1
            guard let off = Int16(exactly: rel) else { throw EngineError("assemble BPF program", reason: "jump to \(f.label) too far") }
            out[f.at] = out[f.at] & ~(UInt64(0xffff) << 16) | UInt64(UInt16(bitPattern: off)) << 16
        }
        return out
    }
}
