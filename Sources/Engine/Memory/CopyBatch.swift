/// One stretch of what a pages image holds, in file order: bytes of a task's memory (`source` indexes
/// the writer's tasks) or of a file (`source` is its fd).
struct CopySegment {
    var source: Int32
    var isFile: Bool
    /// Address in the task, or offset in the file.
    var start: UInt64
    var bytes: Int
}

/// What one worker copies in one go: `bytes` from consecutive segments starting `skip` bytes into
/// segment `first`, written at `fileOffset`. Task pieces of one task share a batch (one process_vm_readv,
/// at most 1024 remote ranges); a file piece has a batch of its own (one pread).
struct CopyBatch: Equatable {
    var first: Int
    var skip: Int
    var bytes: Int
    var pieces: Int
    var fileOffset: UInt64

    /// process_vm_readv takes at most IOV_MAX (1024) remote ranges.
    static let maxPieces = 1024

    /// Cuts the segments into batches of at most `bufferBytes`, in file order.
    static func cut(_ segments: [CopySegment], bufferBytes: Int) -> [CopyBatch] {
        var batches: [CopyBatch] = []
        var open: CopyBatch? = nil
        var offset: UInt64 = 0
        for (i, seg) in segments.enumerated() {
            var done = 0
            while done < seg.bytes {
                if let b = open {
                    let prev = segments[b.first]
                    let joins = !seg.isFile && !prev.isFile && prev.source == seg.source
                        && b.bytes < bufferBytes && b.pieces < maxPieces
                    if !joins {
                        batches.append(b)
                        open = nil
                    }
                }
                if open == nil { open = CopyBatch(first: i, skip: done, bytes: 0, pieces: 0, fileOffset: offset) }
                let n = min(seg.bytes - done, bufferBytes - open!.bytes)
                open!.bytes += n
                open!.pieces += 1
                done += n
                offset += UInt64(n)
            }
        }
        if let b = open { batches.append(b) }
        return batches
    }

    /// Calls `body` with each piece of the batch: its segment, where it starts (address or file offset)
    /// and its length.
    func forEachPiece(_ segments: [CopySegment], _ body: (CopySegment, UInt64, Int) throws -> Void) rethrows {
        var left = bytes
        var i = first
        var skip = self.skip
        while left > 0 {
            let seg = segments[i]
            let n = min(seg.bytes - skip, left)
            try body(seg, seg.start + UInt64(skip), n)
            left -= n
            skip = 0
            i += 1
        }
    }
}
