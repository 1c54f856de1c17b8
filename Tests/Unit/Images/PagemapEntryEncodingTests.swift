import Images
import SwiftProtobuf
import Testing

/// writePagemapEntry encodes by hand what write(PagemapEntry) encodes through SwiftProtobuf: the same
/// bytes for counts on both sides of the 32-bit limit and varint lengths from 1 to 10 bytes.
@Suite struct PagemapEntryEncodingTests {
    private func generic(_ vaddr: UInt64, _ n: UInt64, _ flags: UInt32) throws -> [UInt8] {
        var pe = PagemapEntry()
        pe.vaddr = vaddr
        pe.compatNrPages = UInt32(truncatingIfNeeded: min(n, UInt64(UInt32.max)))
        if n > UInt64(UInt32.max) { pe.nrPages = n }
        pe.flags = flags
        let w = try ImageWriter(memoryNamed: "pagemap-1.img", kind: .pagemap)
        try w.write(pe)
        return w.bytes
    }

    private func byHand(_ vaddr: UInt64, _ n: UInt64, _ flags: UInt32) throws -> [UInt8] {
        let w = try ImageWriter(memoryNamed: "pagemap-1.img", kind: .pagemap)
        try w.writePagemapEntry(vaddr: vaddr, nrPages: n, flags: flags)
        return w.bytes
    }

    @Test func sameBytesAsTheGenericEncoder() throws {
        let addrs: [UInt64] = [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0x5555_5555_4000, 0x7fff_ffff_f000, UInt64.max]
        let counts: [UInt64] = [0, 1, 127, 128, 65536, UInt64(UInt32.max) - 1, UInt64(UInt32.max), UInt64(UInt32.max) + 1, UInt64.max]
        let flags: [UInt32] = [0, 4, 7, UInt32.max]
        for a in addrs {
            for n in counts {
                for f in flags {
                    #expect(try byHand(a, n, f) == generic(a, n, f), "vaddr \(a) pages \(n) flags \(f)")
                }
            }
        }
    }

    @Test func twoEntriesInARowMatchTheGenericEncoder() throws {
        let w = try ImageWriter(memoryNamed: "pagemap-1.img", kind: .pagemap)
        try w.writePagemapEntry(vaddr: 0x1000, nrPages: 3, flags: PagemapFlags.present)
        try w.writePagemapEntry(vaddr: 0x20000, nrPages: 1 << 33, flags: PagemapFlags.present)
        #expect(w.entryIndex == 2)
        let again = try ImageWriter(memoryNamed: "pagemap-1.img", kind: .pagemap)
        var a = PagemapEntry(), b = PagemapEntry()
        a.vaddr = 0x1000; a.compatNrPages = 3; a.flags = PagemapFlags.present
        b.vaddr = 0x20000; b.compatNrPages = UInt32.max; b.nrPages = 1 << 33; b.flags = PagemapFlags.present
        try again.write(a)
        try again.write(b)
        #expect(w.bytes == again.bytes)
        #expect(b.pageCount == 1 << 33 && a.pageCount == 3)
    }
}

/// writePagemapEntries writes what as many writePagemapEntry calls write, across its 4096-entry chunks.
@Suite struct PagemapEntriesBatchTests {
    @Test func batchMatchesOneByOne() throws {
        // Addresses and counts of every varint length, counts past 32 bits among them.
        var runs: [(UInt64, UInt64)] = []
        for i in 0..<9000 {
            let high: UInt64 = i % 7 == 0 ? 0x7fff_0000_0000 : 0
            let wide: UInt64 = i % 1000 == 0 ? 1 << 33 : 0
            runs.append((UInt64(i) * 0x1_0000 + high, wide + UInt64(i % 300 + 1)))
        }
        let batch = try ImageWriter(memoryNamed: "pagemap-1.img", kind: .pagemap)
        try batch.writePagemapEntries(count: runs.count, flags: PagemapFlags.present) { runs[$0] }
        let single = try ImageWriter(memoryNamed: "pagemap-1.img", kind: .pagemap)
        for (a, n) in runs { try single.writePagemapEntry(vaddr: a, nrPages: n, flags: PagemapFlags.present) }
        #expect(batch.entryIndex == runs.count)
        #expect(batch.bytes == single.bytes)
    }

    @Test func emptyBatchWritesNothing() throws {
        let w = try ImageWriter(memoryNamed: "pagemap-1.img", kind: .pagemap)
        let before = w.bytes
        try w.writePagemapEntries(count: 0, flags: 0) { _ in (0, 0) }
        #expect(w.bytes == before && w.entryIndex == 0)
    }
}
