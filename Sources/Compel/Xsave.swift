import CSys
import Glibc
import SystemPackage

/// A thread's XSAVE area as PTRACE_GETREGSET NT_X86_XSTATE returns it (standard, uncompacted layout).
public struct XsaveArea: Equatable, Sendable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// XSTATE_BV from the XSAVE header: which components hold non-initial state.
    public var xstateBV: UInt64 { load(UInt64.self, at: 512) }

    /// Offset and size of state component `n` in the standard layout (CPUID leaf 0xD, sub-leaf n).
    public static func component(_ n: UInt32) -> (offset: Int, size: Int) {
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        csys_cpuid_count(0xd, n, &a, &b, &c, &d)
        return (Int(b), Int(a))
    }

    /// Whether this CPU supports AVX-512 Foundation (CPUID.7.0:EBX bit 16).
    public static var cpuHasAVX512F: Bool {
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        csys_cpuid_count(7, 0, &a, &b, &c, &d)
        return b & (1 << 16) != 0
    }

    public static var cpuHasAVX: Bool {
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        csys_cpuid_count(1, 0, &a, &b, &c, &d)
        return c & (1 << 28) != 0
    }

    /// xmm0..15 (16 bytes): the legacy FXSAVE region.
    public func xmm(_ i: Int) -> [UInt8] {
        precondition(i >= 0 && i < 16)
        return Array(bytes[(160 + 16 * i)..<(176 + 16 * i)])
    }

    /// ymm0..15 (32 bytes): xmm plus the YMM_Hi128 component (2).
    public func ymm(_ i: Int) -> [UInt8] {
        precondition(i >= 0 && i < 16)
        return xmm(i) + part(component: 2, index: i, width: 16)
    }

    /// zmm0..31 (64 bytes): ymm plus ZMM_Hi256 (component 6) for 0..15; Hi16_ZMM (component 7) for 16..31.
    public func zmm(_ i: Int) -> [UInt8] {
        precondition(i >= 0 && i < 32)
        if i < 16 { return ymm(i) + part(component: 6, index: i, width: 32) }
        return part(component: 7, index: i - 16, width: 64)
    }

    /// k0..7 (component 5).
    public func opmask(_ i: Int) -> UInt64 {
        let p = part(component: 5, index: i, width: 8)
        return p.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    /// A component in its initial state is all zeroes whatever the buffer holds.
    private func part(component n: UInt32, index: Int, width: Int) -> [UInt8] {
        guard xstateBV & (1 << UInt64(n)) != 0 else { return [UInt8](repeating: 0, count: width) }
        let (off, size) = XsaveArea.component(n)
        let start = off + index * width
        guard size > 0, start + width <= bytes.count else { return [UInt8](repeating: 0, count: width) }
        return Array(bytes[start..<(start + width)])
    }

    private func load<T: FixedWidthInteger>(_: T.Type, at off: Int) -> T {
        guard off + MemoryLayout<T>.size <= bytes.count else { return 0 }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: off, as: T.self) }
    }
}

/// Reads the full XSAVE area of a stopped thread. The kernel shortens iov_len to the real size.
public func getXsave(tid: pid_t) throws -> XsaveArea {
    let cap = max(Int(csys_xsave_size()), 4096) + 4096
    var buf = [UInt8](repeating: 0, count: cap)
    let n = try buf.withUnsafeMutableBytes { raw -> Int in
        var iov = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
        try ptraceChecked(CSYS_PTRACE_GETREGSET, tid, ptraceData(Int(CSYS_NT_X86_XSTATE)), &iov, "PTRACE_GETREGSET NT_X86_XSTATE")
        return iov.iov_len
    }
    return XsaveArea(bytes: Array(buf[0..<n]))
}

public func setXsave(tid: pid_t, _ area: XsaveArea) throws {
    var buf = area.bytes
    try buf.withUnsafeMutableBytes { raw in
        var iov = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
        try ptraceChecked(CSYS_PTRACE_SETREGSET, tid, ptraceData(Int(CSYS_NT_X86_XSTATE)), &iov, "PTRACE_SETREGSET NT_X86_XSTATE")
    }
}
