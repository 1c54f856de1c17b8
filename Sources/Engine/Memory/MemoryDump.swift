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
            let filter = pageSource(vma)
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
            case .stack:
                status |= VmaStatus.anonPrivate | VmaStatus.stack
                flags |= UInt32(MAP_ANONYMOUS)
            case _ where vma.isSharedAnonymous:
                status |= VmaStatus.anonShared
                flags |= UInt32(MAP_ANONYMOUS)
                e.shmid = vma.inode
                e.pgoff = 0
            case .anonymous, .anonNamed:
                status |= VmaStatus.anonPrivate
                flags |= UInt32(MAP_ANONYMOUS)
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

    /// Where the pages of `vma` come from, nil when none are dumped: what `plan` puts in its plan,
    /// without its checks, so that the pagemap can be scanned before the plan is made (EarlyPageScan).
    static func pageSource(_ vma: VMA) -> PageSource? {
        switch vma.kind {
        case .vdso, .vvar, .vvarVClock, .vsyscall, .anonShmemNamed, .special: return nil
        case .heap, .stack: return .pagemap(.all)
        case _ where vma.isSharedAnonymous: return .shmem
        case .anonymous, .anonNamed: return .pagemap(.all)
        case .file: return vma.shared ? nil : .pagemap(.anonymousOnly)
        }
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
    let pagemapWriter: ImageWriter
    let pages: PagesWriter
    let faults: Faults

    typealias Result = (scanned: UInt64, written: UInt64, copied: [DiscardSplit.Vma], timing: String)

    /// Scans, lists and copies the pages of `plans` here and now.
    func dump(_ plans: [VmaPlan], pagemap: Pagemap, pagesId: UInt32, meanwhile: () throws -> Void = {}) throws -> Result {
        let sources = plans.compactMap { p in p.pages.map { (p.vma, $0) } }
        let layout = try PageLayout.prepare(task: task, sources: sources, pagemap: pagemap, pages: pages)
        return try write(layout, pagesId: pagesId, meanwhile: meanwhile)
    }

    /// Copies what `layout` listed into `pages` and writes the pagemap entries meanwhile; `meanwhile`
    /// runs after the entries, on this thread, while the helpers copy (other images that do not wait
    /// for the memory). Returns how many pages were looked at and how many were written, and the present
    /// pages of each VMA copied from the task (those a kill may discard first are picked from them,
    /// DiscardSplit).
    func write(_ layout: PageLayout, pagesId: UInt32, meanwhile: () throws -> Void = {}) throws -> Result {
        var head = PagemapHead()
        head.pagesID = pagesId
        try pagemapWriter.write(head)
        let t0 = Clock.micros()
        try pages.create()
        let tCreate = Clock.micros()
        // The entries, in the same order, are encoded while the helpers copy.
        try pages.finish(alongside: {
            for item in layout.items {
                switch item.extents {
                case .task(let present):
                    let runs = present.runs
                    try pagemapWriter.writePagemapEntries(count: runs.count, flags: PagemapFlags.present) {
                        (runs[$0].start, runs[$0].nrPages)
                    }
                case .shmem(_, _, let ranges):
                    // Each range starts at or past the VMA's offset in the object; only the sum is an address.
                    let base = item.vma.start &- item.vma.offset
                    try pagemapWriter.writePagemapEntries(count: ranges.count, flags: PagemapFlags.present) {
                        (base &+ ranges[$0].start, ranges[$0].nrPages)
                    }
                }
            }
            try meanwhile()
        }, midway: { try faults.check(.dumpMidMemory) })
        let copied = layout.items.compactMap { item -> DiscardSplit.Vma? in
            guard case .task(let present) = item.extents else { return nil }
            return DiscardSplit.Vma(start: item.vma.start, end: item.vma.end, present: present)
        }
        return (layout.scanned, pages.pagesWritten, copied,
                "\(layout.timing), allocate \((tCreate - t0) / 1000) ms, copy \((Clock.micros() - tCreate) / 1000) ms: \(pages.copySummary))")
    }
}

func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
