import Glibc
import CSys

enum MemoryProbes {
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Maps `pages` private anonymous pages, touches the first, and hands them to `body`.
    private static func withTouchedMapping<T>(pages: Int, _ body: (UnsafeMutableRawPointer) -> T) -> T? {
        let len = pages * pageSize
        guard let p = mmap(nil, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else { return nil }
        defer { munmap(p, len) }
        p.storeBytes(of: 0x5a, as: UInt8.self)
        return body(p)
    }

    @Sendable static func pagemapScan() -> ProbeResult {
        let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failed("open /proc/self/pagemap", errno) }
        defer { close(fd) }
        let r: ProbeResult? = withTouchedMapping(pages: 4) { p in
            var regions = [csys_page_region](repeating: csys_page_region(), count: 4)
            return regions.withUnsafeMutableBufferPointer { buf -> ProbeResult in
                let start = UInt64(UInt(bitPattern: p))
                var arg = csys_pm_scan_arg()
                arg.size = UInt64(MemoryLayout<csys_pm_scan_arg>.size)
                arg.start = start
                arg.end = start + UInt64(4 * pageSize)
                arg.vec = UInt64(UInt(bitPattern: buf.baseAddress))
                arg.vec_len = 4
                arg.category_mask = UInt64(CSYS_PAGE_IS_PRESENT)
                arg.return_mask = UInt64(CSYS_PAGE_IS_PRESENT)
                let n = csys_ioctl(fd, CSYS_PAGEMAP_SCAN, &arg)
                if n < 0 { return .failed("ioctl(PAGEMAP_SCAN)", errno) }
                guard n == 1, buf[0].start == start, buf[0].end == start + UInt64(pageSize) else {
                    return .missing("PAGEMAP_SCAN reported \(n) regions for one touched page")
                }
                return .present("reported exactly the one touched page")
            }
        }
        return r ?? .failed("mmap", errno)
    }

    @Sendable static func softDirty() -> ProbeResult {
        let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failed("open /proc/self/pagemap", errno) }
        defer { close(fd) }
        let r: ProbeResult? = withTouchedMapping(pages: 1) { p in
            var entry: UInt64 = 0
            let off = off_t(UInt(bitPattern: p) / UInt(pageSize) * 8)
            guard pread(fd, &entry, 8, off) == 8 else { return .failed("pread /proc/self/pagemap", errno) }
            return entry & CSYS_PME_SOFT_DIRTY != 0
                ? .present("a freshly written page is soft-dirty")
                : .missing("a freshly written page has no soft-dirty bit (CONFIG_MEM_SOFT_DIRTY is off)")
        }
        return r ?? .failed("mmap", errno)
    }

    /// Opens a userfaultfd and negotiates `features`; present when the kernel grants all of them.
    private static func negotiate(_ features: UInt64, _ what: String) -> ProbeResult {
        var fd = csys_sys_userfaultfd(O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            let dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC)
            guard dev >= 0 else { return .failed("userfaultfd", errno) }
            fd = csys_ioctl(dev, UInt(CSYS_USERFAULTFD_IOC_NEW), UnsafeMutableRawPointer(bitPattern: Int(O_CLOEXEC | O_NONBLOCK)))
            close(dev)
            guard fd >= 0 else { return .failed("ioctl(USERFAULTFD_IOC_NEW)", errno) }
        }
        defer { close(fd) }
        var api = uffdio_api()
        api.api = CSYS_UFFD_API
        api.features = features
        if csys_ioctl(fd, CSYS_UFFDIO_API, &api) < 0 { return .failed("ioctl(UFFDIO_API, \(what))", errno) }
        guard api.features & features == features else { return .missing("kernel did not grant \(what)") }
        return .present(what)
    }

    @Sendable static func uffd() -> ProbeResult {
        negotiate(0, "userfaultfd API")
    }

    @Sendable static func uffdNonCoop() -> ProbeResult {
        negotiate(CSYS_UFFD_FEATURE_EVENT_FORK | CSYS_UFFD_FEATURE_EVENT_REMAP
                  | CSYS_UFFD_FEATURE_EVENT_REMOVE | CSYS_UFFD_FEATURE_EVENT_UNMAP, "fork/remap/remove/unmap events")
    }

    @Sendable static func uffdWriteProtectAsync() -> ProbeResult {
        negotiate(CSYS_UFFD_FEATURE_WP_ASYNC | CSYS_UFFD_FEATURE_WP_UNPOPULATED, "async write-protect of unpopulated memory")
    }

    /// Pre-dump needs to know which pages changed: soft-dirty does it, and so does PAGEMAP_SCAN reading
    /// PAGE_IS_WRITTEN on memory write-protected through an async userfaultfd.
    @Sendable static func dirtyTracking() -> ProbeResult {
        if softDirty().isPresent { return .present("soft-dirty") }
        let scan = pagemapScan(), wp = uffdWriteProtectAsync()
        if scan.isPresent && wp.isPresent { return .present("PAGEMAP_SCAN with userfaultfd async write-protect") }
        return .missing("no soft-dirty; PAGEMAP_SCAN: \(scan.detail); uffd-wp: \(wp.detail)")
    }
}
