import Testing
import Images
@testable import Engine

/// How the restore's UFFDIO_COPY work is cut in two for its two threads.
@Suite struct UffdFillTests {
    typealias Job = UffdFill.Job

    @Test func splitCutsTheRunThatHoldsTheMiddle() {
        let jobs = [Job(dst: 0x1000, offset: 0, len: 0x3000), Job(dst: 0x10000, offset: 0x3000, len: 0x5000)]
        let (a, b) = UffdFill.split(jobs, at: 0x4000)
        #expect(a.map(\.len).reduce(0, +) == 0x4000 && b.map(\.len).reduce(0, +) == 0x4000)
        #expect(a.last?.dst == 0x10000 && a.last?.len == 0x1000)
        #expect(b.first?.dst == 0x11000 && b.first?.offset == 0x4000 && b.first?.len == 0x4000)
    }

    @Test func splitOnARunBoundaryKeepsRunsWhole() {
        let jobs = [Job(dst: 0x1000, offset: 0, len: 0x2000), Job(dst: 0x8000, offset: 0x2000, len: 0x2000)]
        let (a, b) = UffdFill.split(jobs, at: 0x2000)
        #expect(a.count == 1 && b.count == 1 && b[0].dst == 0x8000 && b[0].offset == 0x2000)
    }

    @Test func privateAnonymousMemoryOnlyAndNotHugepageAdvised() {
        let anon: UInt32 = Images.VmaStatus.regular | Images.VmaStatus.anonPrivate
        let file: UInt32 = Images.VmaStatus.regular | Images.VmaStatus.filePrivate
        var v = VmaEntry()
        v.status = anon
        v.flags = 0x22  // MAP_PRIVATE | MAP_ANONYMOUS
        #expect(UffdFill.suits(v))
        v.madv = 1 << 14
        #expect(!UffdFill.suits(v))
        var f = VmaEntry()
        f.status = file
        #expect(!UffdFill.suits(f))
    }
}
