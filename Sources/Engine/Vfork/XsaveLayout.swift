import CSys
import Compel

/// The kernel keeps a task's FPU registers in the compacted XSAVES format (components packed in index
/// order, supervisor state included); ptrace and our images use the standard XSAVE format (each user
/// component at its fixed CPUID offset). This converts the former into the latter, as PTRACE_GETREGSET
/// NT_X86_XSTATE would have.
enum XsaveLayout {
    static let legacySize = 512, headerSize = 64, pkruComponent = 9

    struct Component { let index: Int; let size: Int; let standardOffset: Int; let aligned: Bool; let supervisor: Bool }

    static func component(_ i: Int) -> Component {
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        csys_cpuid_count(0xd, UInt32(i), &a, &b, &c, &d)
        return Component(index: i, size: Int(a), standardOffset: Int(b), aligned: c & 2 != 0, supervisor: c & 1 != 0)
    }

    /// Offsets of the components present in a compacted buffer whose XCOMP_BV is `xcomp`.
    static func compactedOffsets(xcomp: UInt64, component: (Int) -> Component = component) -> [Int: Int] {
        var out: [Int: Int] = [:]
        var off = legacySize + headerSize
        for i in 2..<63 where xcomp & (UInt64(1) << UInt64(i)) != 0 {
            let c = component(i)
            if c.aligned { off = (off + 63) & ~63 }
            out[i] = off
            off += c.size
        }
        return out
    }

    static func standard(fromKernel k: [UInt8], pkru: UInt32, pid: Int32) throws -> XsaveArea {
        let size = Int(csys_xsave_size())
        guard k.count >= legacySize + headerSize else { throw EngineError("read FPU state", pid: pid, reason: "short fpstate (\(k.count) bytes)") }
        var out = [UInt8](repeating: 0, count: size)
        for i in 0..<legacySize { out[i] = k[i] }
        let xstate = le64(k, 512), xcomp = le64(k, 520)
        var userMask: UInt64 = 3
        if xcomp & (UInt64(1) << 63) == 0 {
            // Standard format already (XSAVE without XSAVES): copy what fits.
            for i in legacySize..<min(size, k.count) { out[i] = k[i] }
            for i in 520..<legacySize + headerSize { out[i] = 0 }
            var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
            csys_cpuid_count(0xd, 0, &a, &b, &c, &d)
            let supported = UInt64(a) | UInt64(d) << 32
            for i in 2..<63 where supported & (UInt64(1) << UInt64(i)) != 0 {
                let c = component(i)
                if !c.supervisor, c.size > 0, c.standardOffset + c.size <= size { userMask |= UInt64(1) << UInt64(i) }
            }
        } else {
            for (i, off) in compactedOffsets(xcomp: xcomp) {
                let c = component(i)
                guard !c.supervisor, c.standardOffset + c.size <= size else { continue }
                guard off + c.size <= k.count else {
                    throw EngineError("read FPU state", pid: pid, reason: "component \(i) at \(off)+\(c.size) past the fpstate (\(k.count) bytes)")
                }
                userMask |= UInt64(1) << UInt64(i)
                if xstate & (UInt64(1) << UInt64(i)) != 0 {
                    for j in 0..<c.size { out[c.standardOffset + j] = k[off + j] }
                }
            }
        }
        var bv = xstate & userMask
        // A switched-out task's PKRU lives in thread.pkru, not in its buffer (the kernel does the same for ptrace).
        let pk = component(pkruComponent)
        if userMask & (UInt64(1) << UInt64(pkruComponent)) != 0, pk.size >= 4, pk.standardOffset + 4 <= size {
            withUnsafeBytes(of: pkru.littleEndian) { for (j, b) in $0.enumerated() { out[pk.standardOffset + j] = b } }
            bv |= UInt64(1) << UInt64(pkruComponent)
        }
        put(bv, at: 512, &out)
        // The software-reserved bytes as ptrace fills them: the user feature mask (XCR0) first, for
        // debuggers, then zeros.
        for i in 464..<legacySize { out[i] = 0 }
        put(userMask, at: 464, &out)
        return XsaveArea(bytes: out)
    }

    private static func put(_ v: UInt64, at: Int, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { for (j, b) in $0.enumerated() { out[at + j] = b } }
    }
}
