import CSys  // not Glibc as well: see Pagemap.swift

/// The page frames of the kernel's shared zero pages. Reading never-written anonymous memory maps the
/// zero page (or, in THP regions, the huge zero page); pagemap entries show such pages as present, and
/// only their frame number tells them apart. We learn the frames by faulting them into a scratch mapping
/// of our own and reading our own pagemap. PFNs are visible only with CAP_SYS_ADMIN; without it `known`
/// is false and entry-based scanning cannot skip zero pages (PAGEMAP_SCAN always can).
public struct ZeroPages: Sendable {
    public let zeroPfn: UInt64?
    /// First frame of the huge zero page and its length in small pages, when THP uses one.
    public let hugeZeroPfn: UInt64?
    public let hugeZeroPages: UInt64

    public static let shared = ZeroPages.probe()

    public var known: Bool { zeroPfn != nil }

    public func isZero(pfn: UInt64) -> Bool {
        if pfn == 0 { return false }
        if pfn == zeroPfn { return true }
        if let h = hugeZeroPfn, pfn >= h, pfn < h + hugeZeroPages { return true }
        return false
    }

    static func probe() -> ZeroPages {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let fd = csys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return ZeroPages(zeroPfn: nil, hugeZeroPfn: nil, hugeZeroPages: 0) }
        defer { close(fd) }

        func pfn(_ addr: UnsafeMutableRawPointer) -> UInt64? {
            var pme: UInt64 = 0
            let off = off_t(UInt(bitPattern: addr) / UInt(page) * 8)
            guard pread(fd, &pme, 8, off) == 8, pme & CSYS_PME_PRESENT != 0 else { return nil }
            let f = pme & pfnMask
            return f == 0 ? nil : f
        }

        var small: UInt64?
        if let m = mmap(nil, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), m != mapFailed {
            // MADV_POPULATE_READ takes a read fault, which maps the zero page.
            if madvise(m, page, MADV_POPULATE_READ) == 0 { small = pfn(m) }
            munmap(m, page)
        }

        var huge: UInt64?
        let hugeSize = 2 << 20
        let hugePages = UInt64(hugeSize / page)
        if let m = mmap(nil, 2 * hugeSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), m != mapFailed {
            let aligned = UnsafeMutableRawPointer(
                bitPattern: (UInt(bitPattern: m) + UInt(hugeSize) - 1) & ~UInt(hugeSize - 1))!
            if madvise(aligned, hugeSize, MADV_HUGEPAGE) == 0, madvise(aligned, hugeSize, MADV_POPULATE_READ) == 0,
               let first = pfn(aligned), first != small,
               let last = pfn(aligned + hugeSize - page), last == first + hugePages - 1 {
                huge = first
            }
            munmap(m, 2 * hugeSize)
        }
        return ZeroPages(zeroPfn: small, hugeZeroPfn: huge, hugeZeroPages: huge == nil ? 0 : hugePages)
    }
}

/// Bits 0-54 of a pagemap entry: the page frame number (the C macro is not importable into Swift).
let pfnMask: UInt64 = (1 << 55) - 1

/// mmap's error return, ((void *) -1), which Swift cannot import.
var mapFailed: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: -1) }
