import Foundation
import Images
import SwiftProtobuf
import SystemPackage
import Testing

func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }

@Suite struct FramingTests {
    func pstree(_ pid: UInt32) -> PstreeEntry {
        var p = PstreeEntry()
        p.pid = pid; p.ppid = 0; p.pgid = pid; p.sid = pid; p.threads = [pid]
        return p
    }

    @Test func commonHeaderThenLengthPrefixedEntries() throws {
        let bytes = try writeImage(.pstree, [ImageEntry(pstree(42))])
        let body: [UInt8] = try pstree(42).serializedBytes()
        #expect(bytes == le32(0x5456_4319) + le32(0x5027_3030) + le32(UInt32(body.count)) + body)
    }

    @Test func inventoryHasOnlyItsOwnMagic() throws {
        var inv = InventoryEntry()
        inv.imgVersion = 2
        let bytes = try writeImage(.inventory, [ImageEntry(inv)])
        #expect(Array(bytes.prefix(4)) == le32(0x5831_3116))
        #expect(Array(bytes[4..<8]) == le32(2))  // length of {img_version: 2}
    }

    @Test func serviceFilesUseTheServiceMagic() throws {
        let bytes = try writeImage(.stats, [ImageEntry(StatsEntry())])
        #expect(Array(bytes.prefix(8)) == le32(0x5510_5940) + le32(0x5709_3306))
    }

    @Test func everyMagicIsUniqueAndNamed() {
        let real = ImageKind.all.filter { $0.header != .raw }
        #expect(Set(real.map(\.magic)).count == real.count)
        #expect(Set(ImageKind.all.map(\.name)).count == ImageKind.all.count)
        #expect(ImageKind.byMagic(0x5505_3847)?.name == "CORE")
        #expect(ImageKind.core.fileName(123) == "core-123.img")
        #expect(ImageKind.byName("GHOST_FILE")!.fileName(255) == "ghost-file-ff.img")
        #expect(ImageKind.pagemap.fileName(7) == "pagemap-7.img")
        #expect(ImageKind.pstree.fileName() == "pstree.img")
        #expect(ImageKind.byName("TMPFS_DEV")!.fileName(4) == "tmpfs-dev-4.tar.gz.img")
        #expect(ImageKind.pages.fileName(2) == "pages-2.img")
    }

    @Test func pipeDataPayloadFollowsItsEntry() throws {
        var p = PipeDataEntry()
        p.pipeID = 5; p.bytes = 3
        let bytes = try writeImage(ImageKind.byName("PIPES_DATA")!, [ImageEntry(p, extra: .bytes([1, 2, 3]))])
        let body: [UInt8] = try p.serializedBytes()
        #expect(Array(bytes.suffix(3)) == [1, 2, 3])
        #expect(bytes.count == 8 + 4 + body.count + 3)
    }

    @Test func sysvPayloadsArePadded() throws {
        var sem = try Samples.message(IpcSemEntry.self, seed: 1)
        sem.nsems = 3
        let b = try writeImage(ImageKind.byName("IPCNS_SEM")!, [ImageEntry(sem, extra: .semaphores([1, 2, 3]))])
        let body: [UInt8] = try sem.serializedBytes()
        #expect(b.count == 8 + 4 + body.count + 8)  // 6 bytes of values padded to 8
        #expect(Array(b.suffix(8)) == [1, 0, 2, 0, 3, 0, 0, 0])
    }

    @Test func unchunkedGhostFileRunsToTheEnd() throws {
        var g = try Samples.message(GhostFileEntry.self, seed: 2)
        g.chunks = false
        let kind = ImageKind.byName("GHOST_FILE")!
        let data = Samples.bytes(100_000, 3)  // larger than the read window
        let bytes = try writeImage(kind, [ImageEntry(g, extra: .bytes(data))])
        let (_, back) = try readImage(bytes)
        #expect(back.count == 1 && back[0].extra == .bytes(data))
    }

    @Test func pagemapHeadThenRunsWithPagesOffsets() throws {
        let dir = TempDir()
        let path = dir.path + "/pagemap-1.img"
        let w = try ImageWriter(path: path, kind: .pagemap)
        var head = PagemapHead()
        head.pagesID = 3
        try w.write(head)
        try w.write(PagemapEntry(vaddr: 0x1000, pages: 2, flags: PagemapFlags.present))
        try w.write(PagemapEntry(vaddr: 0x8000, pages: 1, flags: PagemapFlags.parent))
        try w.write(PagemapEntry(vaddr: 0x10000, pages: 4, flags: PagemapFlags.present | PagemapFlags.lazy))
        try w.close()
        let r = try PagemapReader(path: path, pageSize: 4096)
        #expect(r.head.pagesID == 3)
        var got: [(UInt64, UInt64?)] = []
        while let (e, off) = try r.next() { got.append((e.vaddr, off)) }
        #expect(got.map(\.0) == [0x1000, 0x8000, 0x10000])
        #expect(got.map(\.1) == [0, nil, 8192])
    }

    /// A pagemap with a million runs streams through in constant memory, and the
    /// page contents are read from pages-N.img by offset.
    @Test func millionEntryPagemapStreams() throws {
        let dir = TempDir()
        let n = 1_000_000
        let w = try ImageWriter(path: dir.path + "/pagemap-1.img", kind: .pagemap)
        var head = PagemapHead()
        head.pagesID = 1
        try w.write(head)
        for i in 0..<n { try w.write(PagemapEntry(vaddr: UInt64(i) * 0x2000, pages: 1, flags: PagemapFlags.present)) }
        try w.close()
        let pages = try ImageWriter(path: dir.path + "/pages-1.img", kind: .pages)
        for i in 0..<16 { try pages.writePayload([UInt8](repeating: UInt8(i), count: 4096)) }
        try pages.close()

        let r = try PagemapReader(path: dir.path + "/pagemap-1.img", pageSize: 4096)
        var count = 0
        var lastOffset: UInt64 = 0
        while let (_, off) = try r.next() { count += 1; lastOffset = off! }
        #expect(count == n)
        #expect(lastOffset == UInt64(n - 1) * 4096)
        let pf = try PagesFile(path: dir.path + "/pages-1.img")
        var page = [UInt8](repeating: 0, count: 4096)
        try page.withUnsafeMutableBytes { try pf.read(at: 5 * 4096, into: $0) }
        #expect(page.allSatisfy { $0 == 5 })
    }

    @Test func directoryRelativeOpen() throws {
        let dir = TempDir()
        let dfd = try FileDescriptor.open(FilePath(dir.path), .readOnly, options: [.directory])
        defer { try? dfd.close() }
        let w = try ImageWriter(directory: dfd, name: ImageKind.pstree.fileName(), kind: .pstree)
        try w.write(pstree(9))
        try w.close()
        let r = try ImageReader(directory: dfd, name: "pstree.img", expect: .pstree)
        #expect(try r.next(PstreeEntry.self)?.pid == 9)
        #expect(throws: ImageError.self) { try ImageReader(directory: dfd, name: "core-1.img") }
    }

    @Test func fsyncWriterProducesTheSameFile() throws {
        let dir = TempDir()
        let w = try ImageWriter(path: dir.path + "/pstree.img", kind: .pstree, fsync: true)
        try w.write(pstree(1))
        try w.close()
        let r = try ImageReader(path: dir.path + "/pstree.img", expect: .pstree)
        #expect(try r.next(PstreeEntry.self)?.pid == 1)
        #expect(try r.next(PstreeEntry.self) == nil)
    }
}
