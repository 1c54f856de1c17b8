import Testing
@testable import ZdtmCore

@Suite struct MapsTests {
    @Test func parsesLines() throws {
        let v = try #require(VMA.parse("7f0000001000-7f0000003000 r-xp 00002000 08:01 1234   /usr/lib/libc.so.6"))
        #expect(v.start == 0x7f0000001000 && v.end == 0x7f0000003000)
        #expect(v.perms == "r-xp" && v.offset == 0x2000 && v.inode == 1234 && v.path == "/usr/lib/libc.so.6")
        let anon = try #require(VMA.parse("1000-2000 rw-p 00000000 00:00 0 "))
        #expect(anon.path == "")
        let named = try #require(VMA.parse("1000-2000 rw-p 00000000 00:00 0      [stack]"))
        #expect(named.path == "[stack]")
        #expect(VMA.parse("garbage") == nil)
        #expect(VMA.parse("zz-2000 rw-p 0 00:00 0") == nil)
    }

    @Test func mergesAdjacentEqualAnonymous() {
        let m = Maps.merge([
            VMA(start: 0x1000, end: 0x2000, perms: "rw-p"),
            VMA(start: 0x2000, end: 0x5000, perms: "rw-p"),
            VMA(start: 0x5000, end: 0x6000, perms: "r--p"),
            VMA(start: 0x7000, end: 0x8000, perms: "r--p"),
        ])
        #expect(m == [VMA(start: 0x1000, end: 0x5000, perms: "rw-p"), VMA(start: 0x5000, end: 0x6000, perms: "r--p"),
                      VMA(start: 0x7000, end: 0x8000, perms: "r--p")])
    }

    @Test func mergesFileMappingsOnlyWithContiguousOffsets() {
        let a = VMA(start: 0x1000, end: 0x3000, perms: "r--p", offset: 0, inode: 7, path: "/f")
        let contiguous = VMA(start: 0x3000, end: 0x4000, perms: "r--p", offset: 0x2000, inode: 7, path: "/f")
        let jump = VMA(start: 0x3000, end: 0x4000, perms: "r--p", offset: 0x9000, inode: 7, path: "/f")
        #expect(Maps.merge([a, contiguous]).count == 1)
        #expect(Maps.merge([a, contiguous]).first?.end == 0x4000)
        #expect(Maps.merge([a, jump]).count == 2)
        let otherFile = VMA(start: 0x3000, end: 0x4000, perms: "r--p", offset: 0x2000, inode: 8, path: "/g")
        #expect(Maps.merge([a, otherFile]).count == 2)
    }

    @Test func diffReportsGoneAndNew() {
        let before = [VMA(start: 0x1000, end: 0x2000, perms: "rw-p"), VMA(start: 0x3000, end: 0x4000, perms: "r--p", path: "/f")]
        #expect(Maps.diff(before: before, after: before).isEmpty)
        // A split that merges back is no difference.
        let split = [VMA(start: 0x1000, end: 0x1800, perms: "rw-p"), VMA(start: 0x1800, end: 0x2000, perms: "rw-p"),
                     VMA(start: 0x3000, end: 0x4000, perms: "r--p", path: "/f")]
        #expect(Maps.diff(before: before, after: Maps.merge(split)).isEmpty)
        let changed = [VMA(start: 0x1000, end: 0x2000, perms: "r--p"), VMA(start: 0x3000, end: 0x4000, perms: "r--p", path: "/f")]
        let d = Maps.diff(before: before, after: changed)
        #expect(d == ["vma gone: 1000-2000 rw-p ", "vma new: 1000-2000 r--p "])
        // Inodes of anonymous shared memory change on restore and are not compared.
        let reinode = [VMA(start: 0x1000, end: 0x2000, perms: "rw-p"), VMA(start: 0x3000, end: 0x4000, perms: "r--p", inode: 99, path: "/f")]
        #expect(Maps.diff(before: before, after: reinode).isEmpty)
    }
}
