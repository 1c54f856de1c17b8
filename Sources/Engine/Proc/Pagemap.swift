// This file imports CSys and not Glibc: CSys's headers are built with _GNU_SOURCE, and a Swift file
// that sees both modules fails on differing definitions (fd_set, __rusage_who). CSys re-exports the
// libc calls needed here (pread, close, sysconf).
import CSys
import SystemPackage

/// A run of consecutive pages that hold data worth dumping.
public struct PageRun: Equatable, Sendable, CustomStringConvertible {
    public var start: UInt64
    public var nrPages: UInt64
    public init(start: UInt64, nrPages: UInt64) { self.start = start; self.nrPages = nrPages }
    public var description: String { "0x\(String(start, radix: 16))+\(nrPages)" }
}

public struct PresentPages: Equatable, Sendable {
    public var runs: [PageRun]
    public var total: UInt64 { runs.reduce(0) { $0 + $1.nrPages } }
    public init(runs: [PageRun] = []) { self.runs = runs }

    /// Append the pages of [start, end) that lie beyond the last run (regions arrive in address order;
    /// anything below the last run's end was already reported by an earlier call).
    mutating func addClipped(_ start: UInt64, _ end: UInt64, pageSize: UInt64) {
        var s = start
        if let last = runs.last { s = max(s, last.start + last.nrPages * pageSize) }
        if s < end { add(s, (end - s) / pageSize, pageSize: pageSize) }
    }

    /// Append one run, merging it with the last one when they touch.
    mutating func add(_ start: UInt64, _ nrPages: UInt64, pageSize: UInt64) {
        if nrPages == 0 { return }
        if let last = runs.last, last.start + last.nrPages * pageSize == start {
            runs[runs.count - 1].nrPages += nrPages
        } else {
            runs.append(PageRun(start: start, nrPages: nrPages))
        }
    }
}

/// Which pages of a range to report. Pages must be present in RAM or in swap; the shared zero page
/// (what a read of never-written anonymous memory maps) is never reported: it holds nothing.
public enum PageFilter: Sendable {
    /// Every such page: anonymous memory, and the shmem pages of shared mappings that this task has
    /// mapped (shmem pages it never touched, or that went to swap, have no entry in its page tables).
    case all
    /// Only anonymous pages: in a private file mapping these are the copies the task wrote; the
    /// unmodified page-cache pages come back from the file and are not dumped.
    case anonymousOnly
}

/// Finds the pages of a task that exist, through /proc/PID/pagemap: with the PAGEMAP_SCAN ioctl
/// (Linux 6.7+: the kernel returns runs, no per-page entries cross to user space) or, where the ioctl
/// is missing, by reading the 8-byte entry of every page.
public final class Pagemap {
    public let pid: Int32
    public let path: String
    let fd: Int32
    public let pageSize: UInt64
    /// Regions per PAGEMAP_SCAN call and entries per pread: bounds our memory whatever the range size.
    public var chunk: Int = 4096
    /// Set after the ioctl reported that this kernel lacks it; `present` then uses entries.
    public private(set) var scanUnsupported = false

    public init(pid: Int32) throws(ProcError) {
        self.pid = pid
        path = "/proc/\(pid)/pagemap"
        let fd = csys_open(path, O_RDONLY | O_CLOEXEC, 0)
        if fd < 0 { throw ProcError(path: path, "open", errno: Errno(rawValue: csys_errno())) }
        self.fd = fd
        pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    deinit { close(fd) }

    /// Present pages of [start, end), with PAGEMAP_SCAN when the kernel has it. [vsyscall] is outside
    /// the task's address space and gives an error: callers skip it.
    public func present(start: UInt64, end: UInt64, filter: PageFilter) throws(ProcError) -> PresentPages {
        if !scanUnsupported {
            do {
                return try scan(start: start, end: end, filter: filter)
            } catch let e where e.errno?.rawValue == ENOTTY {
                // Before Linux 6.7 the pagemap file has no ioctls at all.
                scanUnsupported = true
            }
        }
        return try readEntries(start: start, end: end, filter: filter)
    }

    /// (a) The PAGEMAP_SCAN ioctl.
    public func scan(start: UInt64, end: UInt64, filter: PageFilter) throws(ProcError) -> PresentPages {
        try checkRange(start, end)
        var excluded = UInt64(CSYS_PAGE_IS_PFNZERO)
        if filter == .anonymousOnly { excluded |= UInt64(CSYS_PAGE_IS_FILE) }
        var result = PresentPages()
        var regions = [csys_page_region](repeating: csys_page_region(), count: max(chunk, 1))
        var cursor = start
        while cursor < end {
            var arg = csys_pm_scan_arg()
            arg.size = UInt64(MemoryLayout<csys_pm_scan_arg>.size)
            arg.start = cursor
            arg.end = end
            arg.vec_len = UInt64(regions.count)
            // A page is reported when it is present or swapped (anyof) and none of `excluded`: the
            // kernel XORs categories with `inverted` before testing `mask`, so inverted+mask = "not".
            arg.category_anyof_mask = UInt64(CSYS_PAGE_IS_PRESENT | CSYS_PAGE_IS_SWAPPED)
            arg.category_inverted = excluded
            arg.category_mask = excluded
            // Report no categories: then the kernel merges every adjacent matching page into one region.
            arg.return_mask = 0
            let n = regions.withUnsafeMutableBufferPointer { buf -> Int32 in
                arg.vec = UInt64(UInt(bitPattern: buf.baseAddress))
                return withUnsafeMutablePointer(to: &arg) { csys_ioctl(fd, UInt(CSYS_PAGEMAP_SCAN), $0) }
            }
            if n < 0 {
                let e = csys_errno()
                if e == EINTR { continue }
                throw ProcError(path: path, "PAGEMAP_SCAN [0x\(String(cursor, radix: 16)), 0x\(String(end, radix: 16)))",
                                errno: Errno(rawValue: e))
            }
            for r in regions[0..<Int(n)] {
                result.addClipped(r.start, r.end, pageSize: pageSize)
            }
            // A call stops early only when the vector is full; otherwise it walked the whole range.
            // Its walk_end is not to be trusted then: on 6.18 it is stale (left at the last point where
            // the kernel's internal 512-region buffer filled), and resuming there repeats regions.
            if Int(n) < regions.count { break }
            guard arg.walk_end > cursor else {
                throw ProcError(path: path, "PAGEMAP_SCAN", detail: "no progress at 0x\(String(cursor, radix: 16))")
            }
            cursor = arg.walk_end
        }
        return result
    }

    /// (b) Reading the entries: bit 63 present, 62 swapped, 61 page-cache/shmem page, 0-54 PFN.
    public func readEntries(start: UInt64, end: UInt64, filter: PageFilter) throws(ProcError) -> PresentPages {
        try checkRange(start, end)
        let zero = ZeroPages.shared
        var result = PresentPages()
        var entries = [UInt64](repeating: 0, count: max(chunk, 1))
        var addr = start
        while addr < end {
            let want = min(UInt64(entries.count), (end - addr) / pageSize)
            let offset = off_t(addr / pageSize * 8)
            let got = entries.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(want) * 8, offset) }
            if got < 0 {
                let e = csys_errno()
                if e == EINTR { continue }
                throw ProcError(path: path, "pread at 0x\(String(addr, radix: 16))", errno: Errno(rawValue: e))
            }
            if got == 0 || got % 8 != 0 {
                throw ProcError(path: path, "pread", detail: "short read of \(got) bytes at 0x\(String(addr, radix: 16))")
            }
            for i in 0..<(got / 8) {
                let pme = entries[i]
                let page = addr + UInt64(i) * pageSize
                var keep = false
                if pme & CSYS_PME_PRESENT != 0 {
                    keep = !zero.isZero(pfn: pme & pfnMask)
                } else if pme & CSYS_PME_SWAP != 0 {
                    keep = true
                }
                if keep && filter == .anonymousOnly && pme & CSYS_PME_FILE != 0 { keep = false }
                if keep { result.add(page, 1, pageSize: pageSize) }
            }
            addr += UInt64(got / 8) * pageSize
        }
        return result
    }

    func checkRange(_ start: UInt64, _ end: UInt64) throws(ProcError) {
        guard start % pageSize == 0, end % pageSize == 0, start <= end else {
            throw ProcError(path: path, "page scan", detail: "range [0x\(String(start, radix: 16)), 0x\(String(end, radix: 16))) is not page aligned")
        }
    }
}
