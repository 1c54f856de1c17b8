import Glibc
import SwiftProtobuf
import SystemPackage

/// Writes one image file: header, then entries and payloads through a buffer.
public final class ImageWriter {
    public let path: String
    public let kind: ImageKind
    private enum Sink {
        case fd(FileDescriptor, owned: Bool)
        case memory
    }
    private var sink: Sink
    private var buffer: [UInt8] = []
    private let flushAt = 256 * 1024
    private var written: UInt64 = 0
    private let sync: Bool
    private var closed = false
    public private(set) var entryIndex = 0

    /// Creates (truncates) `path`. With `fsync`, close() syncs the file before closing it.
    public convenience init(path: String, kind: ImageKind, mode: CModeT = 0o600, fsync: Bool = false) throws(ImageError) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(
                FilePath(path), .writeOnly, options: [.create, .truncate, .closeOnExec],
                permissions: FilePermissions(rawValue: mode))
        } catch {
            throw ImageError(file: path, offset: 0, entry: nil, expected: kind.name,
                             reason: .system(operation: "open", errno: (error as? Errno)?.rawValue ?? EIO))
        }
        try self.init(sink: .fd(fd, owned: true), path: path, kind: kind, fsync: fsync)
    }

    /// Creates `name` relative to an image directory fd (openat).
    public convenience init(directory: FileDescriptor, name: String, kind: ImageKind, mode: CModeT = 0o600, fsync: Bool = false) throws(ImageError) {
        let raw = openat(directory.rawValue, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if raw < 0 {
            throw ImageError(file: name, offset: 0, entry: nil, expected: kind.name, reason: .system(operation: "open", errno: errno))
        }
        try self.init(sink: .fd(FileDescriptor(rawValue: raw), owned: true), path: name, kind: kind, fsync: fsync)
    }

    /// Writes to an fd the caller owns (page server sockets, pipes).
    public convenience init(fd: FileDescriptor, name: String, kind: ImageKind, fsync: Bool = false) throws(ImageError) {
        try self.init(sink: .fd(fd, owned: false), path: name, kind: kind, fsync: fsync)
    }

    /// Collects the image in memory; take it with `bytes` after `close()`.
    public convenience init(memoryNamed name: String, kind: ImageKind) throws(ImageError) {
        try self.init(sink: .memory, path: name, kind: kind, fsync: false)
    }

    private init(sink: Sink, path: String, kind: ImageKind, fsync: Bool) throws(ImageError) {
        self.sink = sink
        self.path = path
        self.kind = kind
        self.sync = fsync
        switch kind.header {
        case .common: putU32(Magic.imgCommon); putU32(kind.magic)
        case .service: putU32(Magic.imgService); putU32(kind.magic)
        case .bare: putU32(kind.magic)
        case .raw: break
        }
    }

    deinit {
        if !closed, case .fd(let fd, true) = sink { try? fd.close() }
    }

    /// The image so far (memory writers; everything after close()).
    public var bytes: [UInt8] { buffer }

    private func putU32(_ v: UInt32) {
        buffer.append(UInt8(v & 0xff))
        buffer.append(UInt8(v >> 8 & 0xff))
        buffer.append(UInt8(v >> 16 & 0xff))
        buffer.append(UInt8(v >> 24))
    }

    private func error(_ reason: ImageError.Reason, expected: String) -> ImageError {
        ImageError(file: path, offset: written + UInt64(buffer.count), entry: entryIndex, expected: expected, reason: reason)
    }

    private func flush() throws(ImageError) {
        guard case .fd(let fd, _) = sink, !buffer.isEmpty else { return }
        do {
            let n = try buffer.withUnsafeBytes { try fd.writeAll($0) }
            written += UInt64(n)
        } catch {
            throw self.error(.system(operation: "write", errno: (error as? Errno)?.rawValue ?? EIO), expected: "write")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Appends one entry: little-endian u32 length, then the message.
    public func write(_ message: some SwiftProtobuf.Message) throws(ImageError) {
        let body: [UInt8]
        do {
            body = try message.serializedBytes()
        } catch {
            throw self.error(.cannotEncode(String(describing: error)), expected: type(of: message).protoMessageName)
        }
        try writeEntryBytes(body)
    }

    /// Appends an already serialized entry.
    public func writeEntryBytes(_ body: [UInt8]) throws(ImageError) {
        guard body.count <= Int(ImageLimits().maxEntry) else {
            throw error(.entryTooLarge(length: UInt64(body.count), limit: ImageLimits().maxEntry), expected: "entry")
        }
        putU32(UInt32(body.count))
        buffer += body
        entryIndex += 1
        if buffer.count >= flushAt { try flush() }
    }

    /// Appends `count` entries of at most `maxSize` bytes each: `encode(i, p)` writes the i-th at `p` and
    /// returns its length, which goes in front of it. For hand-encoded entries written by the ten
    /// thousand (PagemapEntry): one buffer operation per 4096 of them instead of one or more each.
    func appendEntries(count: Int, maxSize: Int, _ encode: (Int, UnsafeMutablePointer<UInt8>) -> Int) throws(ImageError) {
        var done = 0
        while done < count {
            let n = min(count - done, 4096)
            let chunk = [UInt8](unsafeUninitializedCapacity: n * (4 + maxSize)) { buf, filled in
                var p = buf.baseAddress!
                for i in done..<(done + n) {
                    let len = encode(i, p + 4)
                    precondition(len <= maxSize, "hand-encoded entry is \(len) bytes, more than \(maxSize)")
                    for k in 0..<4 { p[k] = UInt8(truncatingIfNeeded: UInt32(len) >> (8 * UInt32(k))) }
                    p += 4 + len
                }
                filled = p - buf.baseAddress!
            }
            buffer += chunk
            entryIndex += n
            done += n
            if buffer.count >= flushAt { try flush() }
        }
    }

    /// Appends payload bytes that belong to the last entry (or raw page data).
    public func writePayload(_ data: some Collection<UInt8>) throws(ImageError) {
        if data.count >= flushAt {
            try flush()
            buffer += data
            try flush()
            return
        }
        buffer += data
        if buffer.count >= flushAt { try flush() }
    }

    /// Writes zero bytes to pad `length` up to a multiple of `alignment`.
    public func writePadding(after length: UInt64, alignment: UInt64) throws(ImageError) {
        let pad = (alignment - length % alignment) % alignment
        if pad > 0 { try writePayload([UInt8](repeating: 0, count: Int(pad))) }
    }

    func entryIndexAdjust(_ d: Int) { entryIndex += d }

    /// Bytes handed to the writer so far, header included.
    public var size: UInt64 { written + UInt64(buffer.count) }

    /// Flushes, optionally fsyncs, and closes the file.
    public func close() throws(ImageError) {
        guard !closed else { return }
        closed = true
        try flush()
        guard case .fd(let fd, let owned) = sink else { return }
        if sync && fsync(fd.rawValue) != 0 {
            let e = errno
            if owned { try? fd.close() }
            throw error(.system(operation: "fsync", errno: e), expected: "fsync")
        }
        if owned {
            do { try fd.close() } catch {
                throw self.error(.system(operation: "close", errno: (error as? Errno)?.rawValue ?? EIO), expected: "close")
            }
        }
    }
}
