import Glibc
import Testing
@testable import Engine

private let page = UInt64(testPageSize)

/// Both scanners, with a tiny chunk too so the resume-after-full-vector paths run.
private func bothWays(_ pid: Int32, _ start: UInt64, _ end: UInt64, _ filter: PageFilter) throws -> PresentPages {
    let pm = try Pagemap(pid: pid)
    let scanned = try pm.scan(start: start, end: end, filter: filter)
    let read = try pm.readEntries(start: start, end: end, filter: filter)
    #expect(scanned == read, "PAGEMAP_SCAN and pagemap entries disagree")
    pm.chunk = 1
    #expect(try pm.scan(start: start, end: end, filter: filter) == scanned, "scan with 1-region vector")
    #expect(try pm.readEntries(start: start, end: end, filter: filter) == read, "entries one by one")
    #expect(try pm.present(start: start, end: end, filter: filter) == scanned)
    return scanned
}

/// The raw 64-bit pagemap entry of one page of a task.
private func rawEntry(_ pid: Int32, _ addr: UInt64) -> UInt64 {
    let fd = open("/proc/\(pid)/pagemap", O_RDONLY)
    defer { close(fd) }
    var pme: UInt64 = 0
    _ = pread(fd, &pme, 8, off_t(addr / page * 8))
    return pme
}

private func pages(_ p: PresentPages, from base: UInt64) -> [UInt64] {
    p.runs.flatMap { r in (0..<r.nrPages).map { (r.start - base) / page + $0 } }
}

@Suite struct PagemapTests {
    @Test func zeroPageFramesAreKnownAsRoot() {
        #expect(ZeroPages.shared.known, "running as root, the zero page's PFN must be visible")
    }

    @Test func anonymousPrivateReportsWrittenPagesOnly() throws {
        let n = 64
        let child = ChildProcess { report in
            let m = mmap(nil, n * testPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            _ = madvise(m, n * testPageSize, MADV_NOHUGEPAGE)
            // No array literal here: the child must not allocate (see ChildProcess).
            m.storeBytes(of: 1, toByteOffset: 0 * testPageSize, as: UInt8.self)
            m.storeBytes(of: 2, toByteOffset: 1 * testPageSize, as: UInt8.self)
            m.storeBytes(of: 6, toByteOffset: 5 * testPageSize, as: UInt8.self)
            // A read fault maps the shared zero page: present, but nothing to dump.
            _ = madvise(m + 9 * testPageSize, testPageSize, MADV_POPULATE_READ)
            report(UInt64(UInt(bitPattern: m)))
        }
        defer { child.kill() }
        let base = child.next()
        try #require(base != 0)
        let end = base + UInt64(n) * page
        let all = try bothWays(child.pid, base, end, .all)
        #expect(pages(all, from: base) == [0, 1, 5])
        #expect(all.runs == [PageRun(start: base, nrPages: 2), PageRun(start: base + 5 * page, nrPages: 1)])
        #expect(all.total == 3)
        #expect(try bothWays(child.pid, base, end, .anonymousOnly) == all)

        // The entry for page 9 is present and holds the zero page: proof the exclusion is what hid it.
        let pme = rawEntry(child.pid, base + 9 * page)
        #expect(pme >> 63 == 1)
        #expect(pme & pfnMask == ZeroPages.shared.zeroPfn)
        let vma = try Maps.read(pid: child.pid).first { $0.start <= base && base < $0.end }
        #expect(vma?.kind == .anonymous && vma?.shared == false)
    }

    @Test func hugeZeroPageIsNotReported() throws {
        let huge = 2 << 20
        let child = ChildProcess { report in
            let m = mmap(nil, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            let a = UnsafeMutableRawPointer(bitPattern: (UInt(bitPattern: m) + UInt(huge) - 1) & ~UInt(huge - 1))!
            _ = madvise(a, huge, MADV_HUGEPAGE)
            _ = madvise(a, huge, MADV_POPULATE_READ)
            report(UInt64(UInt(bitPattern: a)))
        }
        defer { child.kill() }
        let base = child.next()
        try #require(base != 0)
        let p = try bothWays(child.pid, base, base + UInt64(huge), .all)
        #expect(p.total == 0)
        // THP is in madvise mode here with use_zero_page=1, so the huge zero page is what got mapped.
        let first = rawEntry(child.pid, base), last = rawEntry(child.pid, base + UInt64(huge) - page)
        #expect(first >> 63 == 1 && last >> 63 == 1)
        #expect(ZeroPages.shared.hugeZeroPfn != nil)
        #expect(ZeroPages.shared.isZero(pfn: first & pfnMask) && ZeroPages.shared.isZero(pfn: last & pfnMask))
    }

    @Test func privateFileMappingCountsOnlyModifiedCopies() throws {
        let file = TempFile(pages: 16, byte: 0x5a)
        let fd = file.fd
        let child = ChildProcess { report in
            let m = mmap(nil, 16 * testPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)!
            _ = madvise(m, 4 * testPageSize, MADV_POPULATE_READ)
            m.storeBytes(of: 1, toByteOffset: 2 * testPageSize, as: UInt8.self)
            m.storeBytes(of: 1, toByteOffset: 6 * testPageSize, as: UInt8.self)
            report(UInt64(UInt(bitPattern: m)))
        }
        defer { child.kill() }
        let base = child.next()
        try #require(base != 0)
        let end = base + 16 * page
        let anon = try bothWays(child.pid, base, end, .anonymousOnly)
        #expect(pages(anon, from: base) == [2, 6])
        // Page-cache pages are present too (fault-around may map more than the four read).
        let all = pages(try bothWays(child.pid, base, end, .all), from: base)
        #expect(Set([0, 1, 2, 3, 6]).isSubset(of: Set(all)))
        let vma = try Maps.read(pid: child.pid).first { $0.start == base }
        #expect(vma?.path == file.path && vma?.shared == false && vma?.isDeleted == false)
    }

    @Test func sharedAnonymousPagesAreShmemAndReported() throws {
        let child = ChildProcess { report in
            let m = mmap(nil, 8 * testPageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)!
            m.storeBytes(of: 1, toByteOffset: 1 * testPageSize, as: UInt8.self)
            m.storeBytes(of: 1, toByteOffset: 4 * testPageSize, as: UInt8.self)
            report(UInt64(UInt(bitPattern: m)))
        }
        defer { child.kill() }
        let base = child.next()
        try #require(base != 0)
        let end = base + 8 * page
        #expect(pages(try bothWays(child.pid, base, end, .all), from: base) == [1, 4])
        // shmem pages are not anonymous pages: the file filter must drop them.
        #expect(try bothWays(child.pid, base, end, .anonymousOnly).total == 0)
        let vma = try Maps.read(pid: child.pid).first { $0.start == base }
        #expect(vma?.isSharedAnonymous == true, "\(String(describing: vma))")
    }

    @Test func misalignedRangeIsAnError() throws {
        let pm = try Pagemap(pid: getpid())
        #expect(throws: ProcError.self) { try pm.scan(start: 1, end: page, filter: .all) }
        #expect(throws: ProcError.self) { try pm.readEntries(start: 0, end: 5, filter: .all) }
    }

    @Test func missingTaskIsATypedError() {
        do {
            _ = try Pagemap(pid: Int32.max)
            Issue.record("opened the pagemap of a task that cannot exist")
        } catch {
            #expect(error.errno == .noSuchFileOrDirectory)
            #expect(error.description.contains("/proc/\(Int32.max)/pagemap"))
        }
    }
}

@Suite struct PagemapWholeProcessTests {
    /// Every VMA of a real process (program, libraries, heap, stack, vdso...): both methods agree.
    @Test func bothMethodsAgreeOnEveryVMA() throws {
        let child = ChildProcess { report in report(1) }
        defer { child.kill() }
        try #require(child.next() == 1)
        let pm = try Pagemap(pid: child.pid)
        var disagreements: [String] = []
        var total: UInt64 = 0
        for v in try Maps.read(pid: child.pid) where v.kind != .vsyscall {
            let filter: PageFilter = v.path != nil && !v.shared ? .anonymousOnly : .all
            let a = try pm.scan(start: v.start, end: v.end, filter: filter)
            let b = try pm.readEntries(start: v.start, end: v.end, filter: filter)
            if a != b { disagreements.append("\(v.kind) \(filter): scan \(a.runs) entries \(b.runs)") }
            total += a.total
        }
        #expect(disagreements == [])
        #expect(total > 0, "a forked child has written pages (at least its stack)")
    }
}

@Suite struct PagemapManyRunsTests {
    /// More runs than the kernel's internal 512-region buffer and than our vector: the paths where the
    /// kernel's walk_end has to be handled with care (it is stale after a complete walk on 6.18).
    @Test func manyRunsAreReportedOnceEach() throws {
        let n = 8192
        let child = ChildProcess { report in
            let m = mmap(nil, n * testPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            _ = madvise(m, n * testPageSize, MADV_NOHUGEPAGE)
            var i = 0
            while i < n { m.storeBytes(of: 1, toByteOffset: i * testPageSize, as: UInt8.self); i += 3 }
            report(UInt64(UInt(bitPattern: m)))
        }
        defer { child.kill() }
        let base = child.next()
        try #require(base != 0)
        let pm = try Pagemap(pid: child.pid)
        let expected = (0..<UInt64(n)).filter { $0 % 3 == 0 }.map { PageRun(start: base + $0 * page, nrPages: 1) }
        for c in [4096, 2731, 1000, 513, 512, 7] {
            pm.chunk = c
            let s = try pm.scan(start: base, end: base + UInt64(n) * page, filter: .all)
            #expect(s.runs == expected, "vector of \(c): \(s.runs.count) runs, \(s.total) pages")
            #expect(try pm.readEntries(start: base, end: base + UInt64(n) * page, filter: .all).runs == expected)
        }
    }
}

@Suite struct PagemapOutsideTests {
    /// [vsyscall] lies above the task's address space: pagemap has no entries for it, and both methods
    /// say so with an error instead of an empty (and wrong) answer. The engine skips that VMA.
    @Test func vsyscallIsAnError() throws {
        let pm = try Pagemap(pid: getpid())
        guard let v = try Maps.read(pid: getpid()).first(where: { $0.kind == .vsyscall }) else { return }
        #expect(throws: ProcError.self) { try pm.scan(start: v.start, end: v.end, filter: .all) }
        #expect(throws: ProcError.self) { try pm.readEntries(start: v.start, end: v.end, filter: .all) }
    }
}
