import Glibc
import CSys
import Images

/// The contents of a ghost file as ghost-file-ID.img holds them. A file with holes is saved as CRIU
/// does with `chunks` set: after the GhostFileEntry, one GhostChunkEntry (len, off) per data range,
/// each followed by its bytes; holes are not written, and restore leaves them holes (ftruncate to the
/// size, then pwrite each chunk), so a sparse file costs neither image space nor disk after restore.
struct GhostContents {
    var entry: GhostFileEntry
    var chunks: [(off: UInt64, data: [UInt8])]

    /// Data ranges of `fd` (SEEK_DATA/SEEK_HOLE on a description of our own, so the task's offset stays).
    /// nil: the filesystem cannot tell holes apart; the caller then saves the file whole.
    static func dataRanges(_ fd: Int32, size: UInt64) -> [(off: UInt64, len: UInt64)]? {
        var out: [(UInt64, UInt64)] = []
        var at: off_t = 0
        while UInt64(at) < size {
            let data = lseek(fd, at, CSYS_SEEK_DATA)
            if data < 0 { return errno == ENXIO ? out : nil }
            var hole = lseek(fd, data, CSYS_SEEK_HOLE)
            if hole < 0 { return nil }
            hole = min(hole, off_t(size))
            if hole > data { out.append((UInt64(data), UInt64(hole - data))) }
            at = hole
        }
        return out
    }

    /// Reads the given ranges of the file (through `src`, a description of our own).
    static func readChunks(_ src: Int32, ranges: [(off: UInt64, len: UInt64)], pid: Int32, fd: Int32) throws -> [(off: UInt64, data: [UInt8])] {
        var out: [(UInt64, [UInt8])] = []
        for r in ranges {
            var data = [UInt8](repeating: 0, count: Int(r.len))
            var got = 0
            while got < data.count {
                let n = data.withUnsafeMutableBytes { pread(src, $0.baseAddress! + got, $0.count - got, off_t(r.off) + off_t(got)) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw EngineError("read deleted file", pid: pid, fd: fd, errno: .init(rawValue: errno)) }
                if n == 0 { break }
                got += n
            }
            out.append((r.off, Array(data[0..<got])))
        }
        return out
    }

    /// Adds ghost-file-ID.img to the dump (chunked when the file has holes).
    func write(name: String, context: FileDumpContext) throws {
        var g = entry
        if g.mode & S_IFMT == S_IFDIR {
            // A directory has no contents to save.
            g.chunks = false
            try context.addImage(name, ImageKind.byName("GHOST_FILE")!, g)
            return
        }
        let sparse = chunks.count != 1 || chunks[0].off != 0 || UInt64(chunks[0].data.count) != g.size
        g.chunks = sparse
        if !sparse {
            try context.addImage(name, ImageKind.byName("GHOST_FILE")!, g, payload: chunks[0].data)
            return
        }
        try context.addImage(name, ImageKind.byName("GHOST_FILE")!, g)
        for c in chunks {
            var ce = GhostChunkEntry()
            ce.off = c.off
            ce.len = UInt64(c.data.count)
            try context.addImage(name, ImageKind.byName("GHOST_FILE")!, ce, payload: c.data)
        }
    }

    static func read(_ dir: ImageDir, remapId: UInt32) throws -> GhostContents {
        let name = "ghost-file-\(String(remapId, radix: 16)).img"
        let reader = try dir.reader(name, ImageKind.byName("GHOST_FILE")!)
        do {
            guard let g = try reader.next(GhostFileEntry.self) else {
                throw EngineError("check images", path: dir.file(name), reason: "no ghost file entry")
            }
            if g.mode & S_IFMT == S_IFDIR { return GhostContents(entry: g, chunks: []) }
            guard g.chunks else {
                let data = try reader.readToEnd(what: "ghost file contents")
                if g.hasSize && UInt64(data.count) != g.size {
                    throw EngineError("check images", path: dir.file(name), reason: "holds \(data.count) bytes, entry says \(g.size)")
                }
                return GhostContents(entry: g, chunks: [(0, data)])
            }
            var chunks: [(UInt64, [UInt8])] = []
            while let c = try reader.next(GhostChunkEntry.self) {
                guard c.off &+ c.len <= g.size, c.len <= UInt64(Int32.max) else {
                    throw EngineError("check images", path: dir.file(name), reason: "chunk at \(c.off)+\(c.len) lies past the size \(g.size)")
                }
                chunks.append((c.off, try reader.readPayload(c.len, what: "ghost chunk at \(c.off)")))
            }
            return GhostContents(entry: g, chunks: chunks)
        } catch { throw EngineError.wrap(error, "read image \(name)") }
    }

    /// Writes the contents into a new empty file: holes stay holes.
    func fill(_ fd: Int32, path: String) throws {
        if entry.hasSize && ftruncate(fd, off_t(entry.size)) < 0 {
            throw EngineError("size restored deleted file", path: path, errno: .init(rawValue: errno))
        }
        for c in chunks {
            var off = 0
            while off < c.data.count {
                let n = c.data.withUnsafeBytes { pwrite(fd, $0.baseAddress! + off, $0.count - off, off_t(c.off) + off_t(off)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw EngineError("write restored deleted file", path: path, errno: .init(rawValue: errno)) }
                off += n
            }
        }
    }
}
