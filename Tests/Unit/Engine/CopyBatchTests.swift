import Testing
@testable import Engine

/// How the pages of an image are cut into batches: file offsets follow each other, a batch never passes
/// the buffer size or IOV_MAX ranges, runs of one task share a batch, a file piece or another task starts
/// a new one.
@Suite struct CopyBatchTests {
    private func task(_ source: Int32, _ start: UInt64, _ bytes: Int) -> CopySegment {
        CopySegment(source: source, isFile: false, start: start, bytes: bytes)
    }

    @Test func batchesCoverTheSegmentsInOrder() {
        let segs = [task(0, 0x1000, 4096), task(0, 0x3000, 8192), task(0, 0x10000, 40960),
                    CopySegment(source: 9, isFile: true, start: 0, bytes: 20480),
                    task(0, 0x20000, 4096), task(1, 0x20000, 4096)]
        let batches = CopyBatch.cut(segs, bufferBytes: 16384)
        #expect(batches == [
            CopyBatch(first: 0, skip: 0, bytes: 16384, pieces: 3, fileOffset: 0),
            CopyBatch(first: 2, skip: 4096, bytes: 16384, pieces: 1, fileOffset: 16384),
            CopyBatch(first: 2, skip: 20480, bytes: 16384, pieces: 1, fileOffset: 32768),
            CopyBatch(first: 2, skip: 36864, bytes: 4096, pieces: 1, fileOffset: 49152),
            CopyBatch(first: 3, skip: 0, bytes: 16384, pieces: 1, fileOffset: 53248),
            CopyBatch(first: 3, skip: 16384, bytes: 4096, pieces: 1, fileOffset: 69632),
            CopyBatch(first: 4, skip: 0, bytes: 4096, pieces: 1, fileOffset: 73728),
            CopyBatch(first: 5, skip: 0, bytes: 4096, pieces: 1, fileOffset: 77824),
        ])
        var pieces: [(UInt64, Int)] = []
        batches[0].forEachPiece(segs) { _, start, n in pieces.append((start, n)) }
        #expect(pieces.map(\.0) == [0x1000, 0x3000, 0x10000] && pieces.map(\.1) == [4096, 8192, 4096])
    }

    @Test func atMostIovMaxRangesPerBatch() {
        let segs = (0..<2500).map { task(0, UInt64($0) * 8192, 4096) }
        let batches = CopyBatch.cut(segs, bufferBytes: 64 << 20)
        #expect(batches.map(\.pieces) == [1024, 1024, 452])
        #expect(batches.map(\.fileOffset) == [0, 1024 * 4096, 2048 * 4096])
    }

    @Test func nothingToCopy() {
        #expect(CopyBatch.cut([], bufferBytes: 4096).isEmpty)
    }
}
