import Glibc
import SystemPackage

/// PagemapEntry.flags bits.
public enum PagemapFlags {
    /// Contents are in the parent (pre-dump) image set.
    public static let parent: UInt32 = 1 << 0
    /// May be restored lazily (userfaultfd).
    public static let lazy: UInt32 = 1 << 1
    /// Contents are in this set's pages-N.img.
    public static let present: UInt32 = 1 << 2
}

/// VmaEntry.status bits (CRIU's own classification of a mapping).
public enum VmaStatus {
    public static let regular: UInt32 = 1 << 0
    public static let stack: UInt32 = 1 << 1
    public static let vsyscall: UInt32 = 1 << 2
    public static let vdso: UInt32 = 1 << 3
    public static let heap: UInt32 = 1 << 5
    public static let filePrivate: UInt32 = 1 << 6
    public static let fileShared: UInt32 = 1 << 7
    public static let anonShared: UInt32 = 1 << 8
    public static let anonPrivate: UInt32 = 1 << 9
    public static let sysvipc: UInt32 = 1 << 10
    public static let socket: UInt32 = 1 << 11
    public static let vvar: UInt32 = 1 << 12
    public static let aioring: UInt32 = 1 << 13
    public static let memfd: UInt32 = 1 << 14
    public static let shadowStack: UInt32 = 1 << 15
    public static let guardPages: UInt32 = 1 << 16
    public static let uprobes: UInt32 = 1 << 17
    public static let unsupported: UInt32 = 1 << 31
}

extension PagemapEntry {
    /// Number of pages in the run, from whichever count field the writer used.
    public var pageCount: UInt64 { hasNrPages ? nrPages : UInt64(compatNrPages) }

    /// Whether the run's contents are stored in this set's pages file.
    public var inPagesFile: Bool {
        if hasFlags { return flags & PagemapFlags.present != 0 }
        return !inParent
    }

    /// A run of `pages` pages at `vaddr` (count in nr_pages, as current CRIU writes it).
    public init(vaddr: UInt64, pages: UInt64, flags: UInt32) {
        self.init()
        self.vaddr = vaddr
        self.compatNrPages = 0
        self.nrPages = pages
        self.flags = flags
    }
}

/// Walks pagemap-ID.img, telling where each run's bytes sit in pages-N.img.
/// Holds one entry at a time, however many the file has.
public final class PagemapReader {
    public let reader: ImageReader
    public let head: PagemapHead
    public let pageSize: UInt64
    private var pagesOffset: UInt64 = 0

    public init(path: String, pageSize: UInt64 = UInt64(sysconf(Int32(_SC_PAGESIZE)))) throws(ImageError) {
        reader = try ImageReader(path: path, expect: .pagemap)
        guard let h = try reader.next(PagemapHead.self) else {
            throw ImageError(file: path, offset: reader.offset, entry: 0, expected: PagemapHead.protoMessageName,
                             reason: .truncated(wanted: 4, got: 0))
        }
        head = h
        self.pageSize = pageSize
    }

    /// The next run and, when its bytes are in the pages file, their offset there.
    public func next() throws(ImageError) -> (entry: PagemapEntry, pagesOffset: UInt64?)? {
        guard let e = try reader.next(PagemapEntry.self) else { return nil }
        guard e.inPagesFile else { return (e, nil) }
        let at = pagesOffset
        let (bytes, o1) = e.pageCount.multipliedReportingOverflow(by: pageSize)
        let (end, o2) = pagesOffset.addingReportingOverflow(bytes)
        if o1 || o2 {
            throw ImageError(file: reader.path, offset: reader.entryOffset, entry: reader.entryIndex - 1,
                             expected: "a page count that fits in 64 bits", reason: .invalid("nr_pages \(e.pageCount) overflows"))
        }
        pagesOffset = end
        return (e, at)
    }
}

/// Random access to pages-N.img (raw page contents, no header).
public struct PagesFile: ~Copyable {
    public let path: String
    public let fd: FileDescriptor

    public init(path: String) throws(ImageError) {
        self.path = path
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw ImageError(file: path, offset: 0, entry: nil, expected: "pages",
                             reason: .system(operation: "open", errno: (error as? Errno)?.rawValue ?? EIO))
        }
    }

    deinit { try? fd.close() }

    /// Reads `count` bytes at `offset`; a short file is an error.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) {
        var done = 0
        while done < buffer.count {
            let n = pread(fd.rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageError(file: path, offset: offset + UInt64(done), entry: nil, expected: "page data",
                                 reason: .system(operation: "pread", errno: errno))
            }
            if n == 0 {
                throw ImageError(file: path, offset: offset + UInt64(done), entry: nil, expected: "page data",
                                 reason: .truncated(wanted: buffer.count, got: done))
            }
            done += n
        }
    }
}

extension ImageWriter {
    /// Appends a PagemapEntry with vaddr, compat_nr_pages (the count, or UInt32.max when it does not fit),
    /// flags, and nr_pages only when the count does not fit 32 bits: byte for byte what `write(_:)` makes
    /// of the same message (a unit test compares them), without its per-message cost.
    public func writePagemapEntry(vaddr: UInt64, nrPages: UInt64, flags: UInt32) throws(ImageError) {
        try writePagemapEntries(count: 1, flags: flags) { _ in (vaddr, nrPages) }
    }

    /// Appends `count` PagemapEntries, the i-th from `run(i)`, as `writePagemapEntry` would one by one.
    /// A dump writes one per run of pages: 26 000 for 100 MiB of scattered pages, encoded on the main
    /// thread while the page copy runs, where one buffer operation per entry took ~4 ms.
    public func writePagemapEntries(count: Int, flags: UInt32,
                                    _ run: (Int) -> (vaddr: UInt64, nrPages: UInt64)) throws(ImageError) {
        try appendEntries(count: count, maxSize: Self.maxPagemapEntry) { i, b in
            let (vaddr, nrPages) = run(i)
            let compat = min(nrPages, UInt64(UInt32.max))
            // Tags: field number << 3 | wire type 0 (varint).
            var n = 0
            b[n] = 1 << 3; n += 1; n += Self.putVarint(vaddr, b + n)
            b[n] = 2 << 3; n += 1; n += Self.putVarint(compat, b + n)
            b[n] = 4 << 3; n += 1; n += Self.putVarint(UInt64(flags), b + n)
            if nrPages > UInt64(UInt32.max) { b[n] = 5 << 3; n += 1; n += Self.putVarint(nrPages, b + n) }
            return n
        }
    }

    /// Four tags, two 10-byte varints and two 5-byte ones.
    static let maxPagemapEntry = 4 + 10 + 5 + 5 + 10

    /// Writes `v` as a varint at `b`; returns its length.
    static func putVarint(_ v: UInt64, _ b: UnsafeMutablePointer<UInt8>) -> Int {
        var x = v, n = 0
        while x >= 0x80 {
            b[n] = UInt8(truncatingIfNeeded: x) | 0x80
            x >>= 7
            n += 1
        }
        b[n] = UInt8(x)
        return n + 1
    }
}
