import Glibc
import CSys
import Compel

/// Which pages of a task go into its pages image, VMA by VMA in address order, listed into the
/// PagesWriter with their offsets before any is copied. Holds the shmem objects' fds until released.
final class PageLayout {
    /// What one VMA puts into the pages image, in order: runs of the task's pages, or data ranges of a
    /// shmem object.
    enum Extents {
        case task(PresentPages)
        case shmem(path: String, fd: Int32, ranges: [(start: UInt64, nrPages: UInt64)])
    }

    struct Item {
        let vma: VMA
        var extents: Extents
    }

    private(set) var items: [Item] = []
    /// Pages looked at (the VMAs' sizes).
    private(set) var scanned: UInt64 = 0
    /// For the log: how long the scan, the allocation and the listing took.
    private(set) var timing = ""

    deinit {
        for item in items { if case .shmem(_, let fd, _) = item.extents { close(fd) } }
    }

    /// Scans every VMA of `sources` and lists the pages into `pages`, which creates its file afterwards
    /// with the blocks for all of them at once (PagesWriter.create). Uses nothing but /proc and `pages`,
    /// so it may run on a thread of its own (EarlyPageScan).
    static func prepare(task: SeizedTask, sources: [(VMA, PageSource)], pagemap: Pagemap,
                        pages: PagesWriter) throws -> PageLayout {
        let layout = PageLayout()
        let t0 = Clock.micros()
        var runs = 0
        for (vma, source) in sources {
            layout.scanned += vma.size / PagesWriter.pageSize
            switch source {
            case .pagemap(let filter):
                let present = try pagemap.present(start: vma.start, end: vma.end, filter: filter)
                runs += present.runs.count
                layout.items.append(Item(vma: vma, extents: .task(present)))
            case .shmem:
                let (path, fd) = try openShmem(vma, pid: task.pid)
                layout.items.append(Item(vma: vma, extents: .shmem(path: path, fd: fd, ranges: [])))
                let ranges = try shmemRanges(fd, vma)
                layout.items[layout.items.count - 1].extents = .shmem(path: path, fd: fd, ranges: ranges)
                runs += ranges.count
            }
        }
        let tScan = Clock.micros()
        pages.expect(runs: runs)
        for item in layout.items {
            switch item.extents {
            case .task(let present):
                for run in present.runs { pages.copy(from: task, address: run.start, nrPages: run.nrPages) }
            case .shmem(let path, let fd, let ranges):
                for r in ranges { pages.copy(fromFile: fd, offset: r.start, nrPages: r.nrPages, path: path) }
            }
        }
        layout.timing = "scan \((tScan - t0) / 1000) ms, list \((Clock.micros() - tScan) / 1000) ms"
        return layout
    }

    private static func openShmem(_ vma: VMA, pid: Int32) throws -> (String, Int32) {
        let path = "/proc/\(pid)/map_files/\(vma.mapFilesName)"
        let fd = csys_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open shared memory", pid: pid, path: path, errno: .init(rawValue: errno)) }
        return (path, fd)
    }

    /// The data ranges of the shmem file inside the VMA's window (CSYS_SEEK_DATA/CSYS_SEEK_HOLE), as file
    /// offsets rounded out to pages.
    private static func shmemRanges(_ fd: Int32, _ vma: VMA) throws -> [(start: UInt64, nrPages: UInt64)] {
        let page = PagesWriter.pageSize
        let first = Int64(vma.offset), end = Int64(vma.offset + vma.size)
        var ranges: [(start: UInt64, nrPages: UInt64)] = []
        var off = first
        while off < end {
            let data = lseek(fd, off_t(off), CSYS_SEEK_DATA)
            if data < 0 || Int64(data) >= end { break }
            var hole = Int64(lseek(fd, off_t(data), CSYS_SEEK_HOLE))
            if hole < 0 || hole > end { hole = end }
            let start: Int64 = Int64(data) & ~Int64(page - 1)
            ranges.append((UInt64(start), (UInt64(hole - start) + page - 1) / page))
            off = hole
        }
        return ranges
    }
}
