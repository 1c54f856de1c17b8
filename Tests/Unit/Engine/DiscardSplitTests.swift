import Testing
import Compel
@testable import Engine

/// DiscardSplit.halves: the cut leaves about half the present pages on each side, inside a VMA where it
/// must, at the page that completes the first half; small VMAs, small totals and scattered pages are left
/// to the exit.
struct DiscardSplitTests {
    let page: UInt64 = 4096

    private func vma(_ start: UInt64, pages: UInt64, runs: [(UInt64, UInt64)]) -> DiscardSplit.Vma {
        DiscardSplit.Vma(start: start, end: start + pages * page,
                         present: PresentPages(runs: runs.map { PageRun(start: start + $0.0 * page, nrPages: $0.1) }))
    }

    @Test func oneDenseVmaIsCutInTheMiddle() throws {
        let h = try #require(DiscardSplit.halves([vma(0x10000000, pages: 65536, runs: [(0, 65536)])], pageSize: page))
        #expect(h.first == [.init(start: 0x10000000, length: 32768 * page)])
        #expect(h.second == [.init(start: 0x10000000 + 32768 * page, length: 32768 * page)])
    }

    @Test func sparseRunsPutTheCutAfterTheMiddlePage() throws {
        // Every third page of 400 000: 133 334 present; the 66 667th is at page 199 998.
        let runs = (0..<133334).map { (UInt64($0) * 3, UInt64(1)) }
        let h = try #require(DiscardSplit.halves([vma(0x40000000, pages: 400000, runs: runs)], pageSize: page))
        #expect(h.first == [.init(start: 0x40000000, length: 199999 * page)])
        #expect(h.second.first?.start == 0x40000000 + 199999 * page)
    }

    @Test func scatteredPagesAreLeftToTheExit() {
        // Every tenth page of 400 000: enough pages, too few of the VMA's.
        let runs = (0..<40000).map { (UInt64($0) * 10, UInt64(1)) }
        #expect(DiscardSplit.halves([vma(0x40000000, pages: 400000, runs: runs)], pageSize: page) == nil)
        let quarter = (0..<100000).map { (UInt64($0) * 4, UInt64(1)) }
        #expect(DiscardSplit.halves([vma(0x40000000, pages: 400000, runs: quarter)], pageSize: page) != nil)
    }

    @Test func wholeVmasGoToEachSideAndSmallOnesAreLeft() throws {
        let a = vma(0x1000000, pages: 20000, runs: [(0, 20000)])
        let tiny = vma(0x9000000, pages: 100, runs: [(0, 100)])
        let b = vma(0x20000000, pages: 20000, runs: [(0, 20000)])
        let h = try #require(DiscardSplit.halves([b, tiny, a], pageSize: page))
        #expect(h.first == [.init(start: a.start, length: a.end - a.start)])
        #expect(h.second == [.init(start: b.start, length: b.end - b.start)])
    }

    @Test func littleMemoryIsLeftToTheExit() {
        #expect(DiscardSplit.halves([vma(0x1000000, pages: 10000, runs: [(0, 10000)])], pageSize: page) == nil)
        #expect(DiscardSplit.halves([], pageSize: page) == nil)
    }

    @Test func onlyTheLargestVmasAreTaken() throws {
        // 40 VMAs of 1000 pages and one of 30 000: the 32 largest (the big one and 31 others) are split;
        // half of 61 000 pages falls 500 pages into the 31st small one, the big one goes to the second half.
        var vmas = (0..<40).map { vma(0x10000000 + UInt64($0) * 0x1000000, pages: 1000, runs: [(0, 1000)]) }
        vmas.append(vma(0x80000000, pages: 30000, runs: [(0, 30000)]))
        let h = try #require(DiscardSplit.halves(vmas, pageSize: page))
        #expect(h.first.count + h.second.count == DiscardSplit.maximumVmas + 1)  // the cut VMA counts twice
        #expect(h.second.last == .init(start: 0x80000000, length: 30000 * page))
        #expect(h.first.last == .init(start: 0x10000000 + 30 * 0x1000000, length: 500 * page))
    }
}
