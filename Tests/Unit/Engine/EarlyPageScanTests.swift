import Glibc
import Testing
import Compel
@testable import Engine

/// EarlyPageScan against a real child: its thread lists what a scan on the caller's thread lists, no
/// pages image exists before `create`, and the main thread, held on one CPU meanwhile, gets all of its
/// CPUs back.
@Suite(.serialized) struct EarlyPageScanTests {
    @Test func listsWhatAScanHereListsAndCreatesNoFile() throws {
        let pages = 768
        let child = ChildProcess { report in
            guard let p = mmap(nil, pages * testPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  p != MAP_FAILED else { report(0); return }
            for pg in stride(from: 0, to: pages, by: 3) { (p + pg * testPageSize).storeBytes(of: UInt8(1), as: UInt8.self) }
            report(UInt64(UInt(bitPattern: p)))
        }
        defer { child.kill() }
        let base = child.next()
        try #require(base != 0)
        #expect(child.waitSleeping())
        let task = try SeizedTask.seize(child.pid, timeout: .seconds(10))
        defer { try? task.cure() }
        let vmas = try Maps.read(pid: child.pid)
        let path = "/tmp/early-page-scan-test-\(getpid()).img"
        unlink(path)
        defer { unlink(path) }

        let cpus = try TaskProps.dumpAffinity(tid: 0)
        let writer = try PagesWriter(path: path, workers: PagesWriter.workers(cpus: cpus))
        let early = EarlyPageScan(task: task, vmas: vmas, pages: writer, cpus: cpus)
        if cpus.reduce(0, { $0 + $1.nonzeroBitCount }) >= 2 {
            #expect(try TaskProps.dumpAffinity(tid: 0).reduce(0) { $0 + $1.nonzeroBitCount } == 1)
        }
        let (layout, _) = try early.finish()
        #expect(try TaskProps.dumpAffinity(tid: 0) == cpus)
        #expect(access(path, F_OK) != 0, "the pages image exists before create()")

        let sources = vmas.compactMap { v in MemoryPlanner.pageSource(v).map { (v, $0) } }
        let here = try PageLayout.prepare(task: task, sources: sources, pagemap: try Pagemap(pid: child.pid),
                                          pages: try PagesWriter(path: "/dev/null", workers: 1))
        #expect(Self.runs(layout).map(\.start) == Self.runs(here).map(\.start))
        #expect(Self.runs(layout).map(\.runs) == Self.runs(here).map(\.runs))
        let sparse = Self.runs(layout).first { $0.start == base }
        #expect(sparse?.runs.count == pages / 3 && sparse?.runs.allSatisfy { $0.nrPages == 1 } == true)
        #expect(writer.pagesWritten == Self.runs(here).reduce(0) { $0 + $1.runs.reduce(0) { $0 + $1.nrPages } })
        // A second finish hands back the same layout and lists nothing again.
        let listed = writer.pagesWritten
        #expect(Self.runs(try early.finish().layout).map(\.start) == Self.runs(layout).map(\.start))
        #expect(writer.pagesWritten == listed)

        try writer.create()
        #expect(access(path, F_OK) == 0)
    }

    private static func runs(_ layout: PageLayout) -> [(start: UInt64, runs: [PageRun])] {
        layout.items.compactMap { item in
            guard case .task(let present) = item.extents else { return nil }
            return (item.vma.start, present.runs)
        }
    }
}
