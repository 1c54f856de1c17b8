import Glibc
import CSys
import Compel
import Images

/// Where the pages of a VMA come from.
enum PageSource {
    /// The task's page tables, through /proc/PID/pagemap.
    case pagemap(PageFilter)
    /// The shmem object behind a shared anonymous mapping, read through /proc/PID/map_files: its pages
    /// exist even where this task never touched them.
    case shmem
}

/// Which mappings need which treatment: the VMA entry for mm-PID.img and which of its pages go to the
/// pages image.
struct VmaPlan {
    var vma: VMA
    var entry: VmaEntry
    /// nil: no page of this VMA is dumped (file-backed shared, vdso, vvar, ...).
    var pages: PageSource?
}

enum MemoryPlanner {
    /// mmap flags the kernel reports only as smaps VmFlags.
    private static let mapGrowsdown: UInt32 = 0x0100
    private static let mapLocked: UInt32 = 0x2000
    private static let mapNoreserve: UInt32 = 0x4000

    /// madvise advice numbers whose state smaps shows, keyed by VmFlags mnemonic.
    private static let adviceByFlag: [(String, UInt64)] = [
        ("rr", 1), ("sr", 2), ("dc", 10), ("mg", 12), ("hg", 14), ("nh", 15), ("dd", 16), ("wf", 18),
    ]

    /// Builds the plan for every VMA. `fileId` registers a mapped file and returns its id in files.img.
    /// VMAs from plain maps have no VmFlags yet: `applyFlags` adds them from smaps before mm.img is written.
    static func plan(pid: Int32, vmas: [VMA], fileId: (VMA, UInt32) throws -> UInt32) throws -> [VmaPlan] {
        var plans: [VmaPlan] = []
        for vma in vmas {
            var e = VmaEntry()
            e.start = vma.start
            e.end = vma.end
            e.pgoff = vma.offset
            e.shmid = 0
            e.prot = UInt32(vma.prot.rawValue)  // r=1 w=2 x=4, as PROT_*
            e.fd = -1
            let shown = try vmFlagFields(vma, pid: pid)
            var flags: UInt32 = (vma.shared ? UInt32(MAP_SHARED) : UInt32(MAP_PRIVATE)) | shown.mapFlags
            if shown.madv != 0 { e.madv = shown.madv }
            var filter: PageSource? = nil
            var status = VmaStatus.regular

            switch vma.kind {
            case .vdso:
                status |= VmaStatus.vdso
                flags |= UInt32(MAP_ANONYMOUS)
            case .vvar, .vvarVClock:
                status |= VmaStatus.vvar
                flags |= UInt32(MAP_ANONYMOUS)
            case .vsyscall:
                status = VmaStatus.vsyscall
            case .heap:
                status |= VmaStatus.anonPrivate | VmaStatus.heap
                flags |= UInt32(MAP_ANONYMOUS)
                filter = .pagemap(.all)
            case .stack:
                status |= VmaStatus.anonPrivate | VmaStatus.stack
                flags |= UInt32(MAP_ANONYMOUS)
                filter = .pagemap(.all)
            case _ where vma.isSharedAnonymous:
                status |= VmaStatus.anonShared
                flags |= UInt32(MAP_ANONYMOUS)
                e.shmid = vma.inode
                e.pgoff = 0
                filter = .shmem
            case .anonymous, .anonNamed:
                status |= VmaStatus.anonPrivate
                flags |= UInt32(MAP_ANONYMOUS)
                filter = .pagemap(.all)
            case .file(let path, let deleted):
                if vma.isSysVShm {
                    throw EngineError("dump memory", pid: pid, path: path,
                                      reason: "SysV shared memory at \(hex(vma.start)) is not supported yet")
                }
                // MAP_HUGETLB without a file; its VmFlags ("ht") arrive only after the page copy.
                if deleted && path == "/anon_hugepage" { throw hugetlbError(vma, pid: pid) }
                if deleted && !vma.isMemfd {
                    throw EngineError("dump memory", pid: pid, path: path,
                                      reason: "mapping of a deleted file at \(hex(vma.start)) is not supported yet")
                }
                if vma.isMemfd { status |= VmaStatus.memfd }
                let fdflags: UInt32 = vma.shared && vma.prot.contains(.write) ? UInt32(O_RDWR) : UInt32(O_RDONLY)
                e.fdflags = fdflags
                e.shmid = UInt64(try fileId(vma, fdflags))
                if vma.shared {
                    status |= VmaStatus.fileShared
                } else {
                    status |= VmaStatus.filePrivate
                    filter = .pagemap(.anonymousOnly)
                }
            case .anonShmemNamed(let name), .special(let name):
                throw EngineError("dump memory", pid: pid,
                                  reason: "mapping \(name) at \(hex(vma.start)) is not supported yet")
            }
            e.flags = flags
            e.status = status
            plans.append(VmaPlan(vma: vma, entry: e, pages: filter))
        }
        return plans
    }

    /// Adds the VmFlags of `smaps` to plans made from plain maps. smaps is read after the injection is
    /// undone, while the pages are copied (its page walk is most of reading /proc); a frozen task's
    /// mappings cannot change meanwhile, so a different list is an error, not something to merge.
    static func applyFlags(_ plans: inout [VmaPlan], smaps: [SmapsEntry], pid: Int32) throws {
        guard smaps.count == plans.count,
              zip(plans, smaps).allSatisfy({ $0.vma.start == $1.vma.start && $0.vma.end == $1.vma.end }) else {
            throw EngineError("dump memory", pid: pid,
                              reason: "its mappings changed while it was frozen (\(plans.count) VMAs in maps, \(smaps.count) in smaps)")
        }
        for i in plans.indices {
            plans[i].vma.flags = smaps[i].vma.flags
            let shown = try vmFlagFields(plans[i].vma, pid: pid)
            plans[i].entry.flags |= shown.mapFlags
            if shown.madv != 0 { plans[i].entry.madv = shown.madv }
        }
    }

    private static func hugetlbError(_ vma: VMA, pid: Int32) -> EngineError {
        EngineError("dump memory", pid: pid, path: vma.path, reason: "hugetlb mapping at \(hex(vma.start)) is not supported yet")
    }

    /// The mmap flags and madvise bits that only VmFlags show; none when the VMA has no VmFlags yet.
    private static func vmFlagFields(_ vma: VMA, pid: Int32) throws -> (mapFlags: UInt32, madv: UInt64) {
        let mnemonics = Set(vma.flags?.mnemonics ?? [])
        // hugetlbfs pages (MAP_HUGETLB, MFD_HUGETLB memfds) would come back as normal pages.
        if mnemonics.contains("ht") { throw hugetlbError(vma, pid: pid) }
        var flags: UInt32 = 0
        if mnemonics.contains("gd") { flags |= mapGrowsdown }
        if mnemonics.contains("lo") { flags |= mapLocked }
        if mnemonics.contains("nr") { flags |= mapNoreserve }
        var madv: UInt64 = 0
        for (m, advice) in adviceByFlag where mnemonics.contains(m) { madv |= 1 << advice }
        return (flags, madv)
    }
}

/// Writes pagemap-ID.img and pages-N.img for a task, VMA by VMA, in address order.
struct MemoryDumper {
    let task: SeizedTask
    let pagemap: Pagemap
    let pagemapWriter: ImageWriter
    let pages: PagesWriter
    let faults: Faults

    /// What one VMA puts into the pages image, in order: runs of the task's pages, or data ranges of a
    /// shmem object.
    private enum Extents {
        case task(PresentPages)
        case shmem(path: String, fd: Int32, ranges: [(start: UInt64, nrPages: UInt64)])
    }

    /// Returns how many pages were looked at and how many were written, and the present pages of each VMA
    /// copied from the task (those a kill may discard first are picked from them, DiscardSplit). The pages are counted first, so
    /// that the image's blocks are allocated in one go before the copy (PagesWriter.reserve).
    /// `timing`: how long each step took, for the log.
    func dump(_ plans: [VmaPlan], pagesId: UInt32) throws -> (scanned: UInt64, written: UInt64, copied: [DiscardSplit.Vma],
                                                              timing: String) {
        let t0 = Clock.micros()
        var head = PagemapHead()
        head.pagesID = pagesId
        try pagemapWriter.write(head)
        var scanned: UInt64 = 0
        var work: [(plan: VmaPlan, extents: Extents)] = []
        defer { for w in work { if case .shmem(_, let fd, _) = w.extents { close(fd) } } }
        var total: UInt64 = 0, runs = 0
        for plan in plans {
            guard let source = plan.pages else { continue }
            scanned += plan.vma.size / PagesWriter.pageSize
            switch source {
            case .pagemap(let filter):
                let present = try pagemap.present(start: plan.vma.start, end: plan.vma.end, filter: filter)
                total += present.total
                runs += present.runs.count
                work.append((plan, .task(present)))
            case .shmem:
                let (path, fd) = try openShmem(plan.vma)
                work.append((plan, .shmem(path: path, fd: fd, ranges: [])))
                let ranges = try shmemRanges(fd, plan.vma, path: path)
                work[work.count - 1].extents = .shmem(path: path, fd: fd, ranges: ranges)
                total += ranges.reduce(0) { $0 + $1.nrPages }
                runs += ranges.count
            }
        }
        let tScan = Clock.micros()
        try pages.reserve(bytes: total * PagesWriter.pageSize)
        let tReserve = Clock.micros()
        pages.expect(runs: runs)
        for w in work {
            switch w.extents {
            case .task(let present):
                for run in present.runs { pages.copy(from: task, address: run.start, nrPages: run.nrPages) }
            case .shmem(let path, let fd, let ranges):
                for r in ranges { pages.copy(fromFile: fd, offset: r.start, nrPages: r.nrPages, path: path) }
            }
        }
        let tList = Clock.micros()
        // The entries, in the same order, are encoded while the helpers copy.
        try pages.finish(alongside: {
            for w in work {
                switch w.extents {
                case .task(let present):
                    for run in present.runs { try entry(run.start, run.nrPages) }
                case .shmem(_, _, let ranges):
                    for r in ranges { try entry(w.plan.vma.start + r.start - w.plan.vma.offset, r.nrPages) }
                }
            }
        }, midway: { try faults.check(.dumpMidMemory) })
        let tCopy = Clock.micros()
        let copied = work.compactMap { w -> DiscardSplit.Vma? in
            guard case .task(let present) = w.extents else { return nil }
            return DiscardSplit.Vma(start: w.plan.vma.start, end: w.plan.vma.end, present: present)
        }
        return (scanned, pages.pagesWritten, copied,
                "scan \((tScan - t0) / 1000) ms, allocate \((tReserve - tScan) / 1000) ms, list \((tList - tReserve) / 1000) ms, copy \((tCopy - tList) / 1000) ms: \(pages.copySummary))")
    }

    private func entry(_ vaddr: UInt64, _ nrPages: UInt64) throws {
        try pagemapWriter.writePagemapEntry(vaddr: vaddr, nrPages: nrPages, flags: PagemapFlags.present)
    }

    private func openShmem(_ vma: VMA) throws -> (String, Int32) {
        let path = "/proc/\(task.pid)/map_files/\(vma.mapFilesName)"
        let fd = csys_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open shared memory", pid: task.pid, path: path, errno: .init(rawValue: errno)) }
        return (path, fd)
    }

    /// The data ranges of the shmem file inside the VMA's window (CSYS_SEEK_DATA/CSYS_SEEK_HOLE), as file
    /// offsets rounded out to pages.
    private func shmemRanges(_ fd: Int32, _ vma: VMA, path: String) throws -> [(start: UInt64, nrPages: UInt64)] {
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

func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
