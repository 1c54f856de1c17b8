import Glibc
import Testing
@testable import Engine

/// The dump plans VMAs from plain maps and adds smaps' VmFlags after the page copy (SmapsReader): the
/// result must be what planning with the flags from the start gives, and a list that changed in between
/// is an error.
@Suite struct MemoryPlannerFlagsTests {
    private let smapsText = """
    7f0000000000-7f0000010000 rw-p 00000000 00:00 0 
    Size:                 64 kB
    VmFlags: rd wr mr mw me lo nr ac 
    7f0000010000-7f0000020000 rw-p 00000000 00:00 0 
    Size:                 64 kB
    VmFlags: rd wr mr mw me dc sr hg dd ac 
    7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
    Size:                132 kB
    VmFlags: rd wr mr mw me gd ac 

    """

    private func plan(_ vmas: [VMA]) throws -> [VmaPlan] {
        try MemoryPlanner.plan(pid: 1, vmas: vmas) { _, _ in 0 }
    }

    @Test func flagsAddedLaterMatchFlagsKnownAtOnce() throws {
        let smaps = try Smaps.parse(smapsText)
        let atOnce = try plan(smaps.map(\.vma))
        var later = try plan(smaps.map { var v = $0.vma; v.flags = nil; return v })
        #expect(later.map(\.entry) != atOnce.map(\.entry), "without VmFlags the entries lack lock, noreserve, growsdown, madvise")
        try MemoryPlanner.applyFlags(&later, smaps: smaps, pid: 1)
        #expect(later.map(\.entry) == atOnce.map(\.entry))
        #expect(later.map(\.vma) == atOnce.map(\.vma))
        #expect(later[0].entry.flags & 0x2000 != 0 && later[0].entry.flags & 0x4000 != 0, "MAP_LOCKED, MAP_NORESERVE")
        #expect(later[1].entry.madv == (1 << 2) | (1 << 10) | (1 << 14) | (1 << 16), "sequential, dontfork, hugepage, dontdump")
        #expect(later[2].entry.flags & 0x0100 != 0, "MAP_GROWSDOWN")
        #expect(!DiscardSplit.mayDiscard(later[0]) && DiscardSplit.mayDiscard(later[1]), "a locked VMA is never discarded")
    }

    @Test func aChangedListIsAnError() throws {
        let smaps = try Smaps.parse(smapsText)
        var fewer = try plan(Array(smaps.dropLast().map(\.vma)))
        #expect(throws: EngineError.self) { try MemoryPlanner.applyFlags(&fewer, smaps: smaps, pid: 1) }
        var moved = try plan(smaps.map(\.vma))
        moved[1].vma.end += 4096
        #expect(throws: EngineError.self) { try MemoryPlanner.applyFlags(&moved, smaps: smaps, pid: 1) }
    }

    @Test func hugetlbIsRefusedByNameOrWhenItsFlagsArrive() throws {
        let anon = try Smaps.parse("""
        7f0000000000-7f0000200000 rw-p 00000000 00:0f 1234                       /anon_hugepage (deleted)
        VmFlags: rd wr mr mw me de ht 

        """)
        let e = #expect(throws: EngineError.self) { try plan(anon.map { var v = $0.vma; v.flags = nil; return v }) }
        #expect(e?.description.contains("hugetlb mapping at 0x7f0000000000") == true)
        // A hugetlbfs memfd looks like any memfd in maps.
        let memfd = try Smaps.parse("""
        7f0000000000-7f0000200000 rw-s 00000000 00:0f 1235                       /memfd:big (deleted)
        VmFlags: rd wr sh mr mw me ms de ht 

        """)
        var plans = try plan(memfd.map { var v = $0.vma; v.flags = nil; return v })
        let f = #expect(throws: EngineError.self) { try MemoryPlanner.applyFlags(&plans, smaps: memfd, pid: 1) }
        #expect(f?.description.contains("hugetlb mapping") == true)
    }
}
