import Compel
import Images

/// General registers and the XSAVE area in the format's ThreadInfoX86 shape, both ways.
enum CpuState {
    static func entry(_ r: GeneralRegisters) -> UserX86RegsEntry {
        var e = UserX86RegsEntry()
        e.r15 = r.r15; e.r14 = r.r14; e.r13 = r.r13; e.r12 = r.r12
        e.bp = r.rbp; e.bx = r.rbx; e.r11 = r.r11; e.r10 = r.r10
        e.r9 = r.r9; e.r8 = r.r8; e.ax = r.rax; e.cx = r.rcx
        e.dx = r.rdx; e.si = r.rsi; e.di = r.rdi; e.origAx = r.orig_rax
        e.ip = r.rip; e.cs = r.cs; e.flags = r.eflags; e.sp = r.rsp
        e.ss = r.ss; e.fsBase = r.fs_base; e.gsBase = r.gs_base
        e.ds = r.ds; e.es = r.es; e.fs = r.fs; e.gs = r.gs
        e.mode = .native
        return e
    }

    static func registers(_ e: UserX86RegsEntry) -> GeneralRegisters {
        var r = GeneralRegisters()
        r.r15 = e.r15; r.r14 = e.r14; r.r13 = e.r13; r.r12 = e.r12
        r.rbp = e.bp; r.rbx = e.bx; r.r11 = e.r11; r.r10 = e.r10
        r.r9 = e.r9; r.r8 = e.r8; r.rax = e.ax; r.rcx = e.cx
        r.rdx = e.dx; r.rsi = e.si; r.rdi = e.di; r.orig_rax = e.origAx
        r.rip = e.ip; r.cs = e.cs; r.eflags = e.flags; r.rsp = e.sp
        r.ss = e.ss; r.fs_base = e.fsBase; r.gs_base = e.gsBase
        r.ds = e.ds; r.es = e.es; r.fs = e.fs; r.gs = e.gs
        return r
    }

    // XSAVE state components as the format keeps them: (component number, width of one format element).
    private static let ymm: UInt32 = 2, bndregs: UInt32 = 3, bndcsr: UInt32 = 4
    private static let opmask: UInt32 = 5, zmmHi256: UInt32 = 6, hi16Zmm: UInt32 = 7, pkru: UInt32 = 9

    static func fpregs(_ x: XsaveArea) -> UserX86FpregsEntry {
        let b = x.bytes
        var f = UserX86FpregsEntry()
        f.cwd = UInt32(load(b, 0, UInt16.self))
        f.swd = UInt32(load(b, 2, UInt16.self))
        f.twd = UInt32(load(b, 4, UInt16.self))
        f.fop = UInt32(load(b, 6, UInt16.self))
        f.rip = load(b, 8, UInt64.self)
        f.rdp = load(b, 16, UInt64.self)
        f.mxcsr = load(b, 24, UInt32.self)
        f.mxcsrMask = load(b, 28, UInt32.self)
        f.stSpace = words(b, 32, 32)
        f.xmmSpace = words(b, 160, 64)
        f.padding = words(b, 416, 24)
        guard b.count > 576 else { return f }
        var xs = UserX86XsaveEntry()
        xs.xstateBv = load(b, 512, UInt64.self)
        xs.ymmhSpace = componentWords(b, ymm, count: 64)
        xs.bndregState = componentQuads(b, bndregs, count: 8)
        xs.bndcsrState = componentQuads(b, bndcsr, count: 2)
        xs.opmaskReg = componentQuads(b, opmask, count: 8)
        xs.zmmUpper = componentQuads(b, zmmHi256, count: 64)
        xs.hi16Zmm = componentQuads(b, hi16Zmm, count: 128)
        xs.pkru = componentWords(b, pkru, count: 2)
        f.xsave = xs
        return f
    }

    /// Rebuilds an XSAVE area in this CPU's standard layout; `size` is the kernel's xstate size here.
    static func xsave(_ f: UserX86FpregsEntry, size: Int) -> XsaveArea {
        var b = [UInt8](repeating: 0, count: max(size, 576))
        store(&b, 0, UInt16(truncatingIfNeeded: f.cwd))
        store(&b, 2, UInt16(truncatingIfNeeded: f.swd))
        store(&b, 4, UInt16(truncatingIfNeeded: f.twd))
        store(&b, 6, UInt16(truncatingIfNeeded: f.fop))
        store(&b, 8, f.rip)
        store(&b, 16, f.rdp)
        store(&b, 24, f.mxcsr)
        store(&b, 28, f.mxcsrMask)
        storeWords(&b, 32, f.stSpace, max: 32)
        storeWords(&b, 160, f.xmmSpace, max: 64)
        // x87 and SSE state always come from the legacy region.
        var bv: UInt64 = 0x3
        if f.hasXsave {
            let xs = f.xsave
            bv |= xs.xstateBv
            storeComponent(&b, ymm, xs.ymmhSpace)
            storeComponent(&b, bndregs, xs.bndregState)
            storeComponent(&b, bndcsr, xs.bndcsrState)
            storeComponent(&b, opmask, xs.opmaskReg)
            storeComponent(&b, zmmHi256, xs.zmmUpper)
            storeComponent(&b, hi16Zmm, xs.hi16Zmm)
            storeComponent(&b, pkru, xs.pkru)
        }
        store(&b, 512, bv & supportedMask(size: b.count))
        return XsaveArea(bytes: b)
    }

    /// Components whose standard-layout offset lies inside an area of `size` bytes.
    private static func supportedMask(size: Int) -> UInt64 {
        var m: UInt64 = 0x3
        for n in UInt32(2)...UInt32(19) {
            let (off, len) = XsaveArea.component(n)
            if len > 0 && off + len <= size { m |= 1 << UInt64(n) }
        }
        return m
    }

    private static func load<T: FixedWidthInteger>(_ b: [UInt8], _ off: Int, _: T.Type) -> T {
        guard off + MemoryLayout<T>.size <= b.count else { return 0 }
        return b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: off, as: T.self) }
    }

    private static func store<T: FixedWidthInteger>(_ b: inout [UInt8], _ off: Int, _ v: T) {
        guard off + MemoryLayout<T>.size <= b.count else { return }
        b.withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: off, as: T.self) }
    }

    private static func words(_ b: [UInt8], _ off: Int, _ n: Int) -> [UInt32] {
        (0..<n).map { load(b, off + 4 * $0, UInt32.self) }
    }

    private static func storeWords(_ b: inout [UInt8], _ off: Int, _ w: [UInt32], max: Int) {
        for (i, v) in w.prefix(max).enumerated() { store(&b, off + 4 * i, v) }
    }

    private static func componentWords(_ b: [UInt8], _ n: UInt32, count: Int) -> [UInt32] {
        let (off, len) = XsaveArea.component(n)
        guard len > 0, off + 4 * count <= b.count else { return [] }
        return words(b, off, count)
    }

    private static func componentQuads(_ b: [UInt8], _ n: UInt32, count: Int) -> [UInt64] {
        let (off, len) = XsaveArea.component(n)
        guard len > 0, off + 8 * count <= b.count else { return [] }
        return (0..<count).map { load(b, off + 8 * $0, UInt64.self) }
    }

    private static func storeComponent<T: FixedWidthInteger>(_ b: inout [UInt8], _ n: UInt32, _ values: [T]) {
        let (off, len) = XsaveArea.component(n)
        guard len > 0 else { return }
        let width = MemoryLayout<T>.size
        for (i, v) in values.enumerated() where (i + 1) * width <= len { store(&b, off + i * width, v) }
    }
}
