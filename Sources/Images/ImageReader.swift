import Glibc
import SwiftProtobuf
import SystemPackage

/// Upper bounds that keep a hostile or corrupt image from making us allocate without end.
public struct ImageLimits: Sendable {
    /// Largest protobuf entry accepted. CRIU's biggest entries (mm with thousands of VMAs,
    /// cgroup trees) stay far below this.
    public var maxEntry: UInt64 = 64 << 20
    /// Largest extra payload read into memory at once (pipe data, ghost file, queues).
    public var maxPayload: UInt64 = 1 << 30
    public init() {}
}

/// Reads one image file entry by entry. Only one entry (plus a 64 KiB window) is in
/// memory at a time, so pagemaps with millions of entries stream through.
public final class ImageReader {
    public let path: String
    public private(set) var kind: ImageKind
    public var limits: ImageLimits
    private var input: ByteInput
    /// Index of the next entry.
    public internal(set) var entryIndex = 0
    /// Set once a ghost file's head entry says chunk entries follow.
    private var ghostChunked = false
    /// File offset where the current (last read) entry started.
    public private(set) var entryOffset: UInt64 = 0

    /// Opens `path` and checks its magic. With `expect`, any other kind is an error.
    public convenience init(path: String, expect: ImageKind? = nil, limits: ImageLimits = ImageLimits()) throws(ImageError) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw ImageError(file: path, offset: 0, entry: nil, expected: expect?.name ?? "an image",
                             reason: .system(operation: "open", errno: (error as? Errno)?.rawValue ?? EIO))
        }
        try self.init(input: ByteInput(fd: fd, owned: true), path: path, expect: expect, limits: limits)
    }

    /// Opens `name` relative to an image directory fd (openat), as the engine keeps
    /// the images directory open rather than building paths.
    public convenience init(directory: FileDescriptor, name: String, expect: ImageKind? = nil, limits: ImageLimits = ImageLimits()) throws(ImageError) {
        let raw = openat(directory.rawValue, name, O_RDONLY | O_CLOEXEC)
        if raw < 0 {
            throw ImageError(file: name, offset: 0, entry: nil, expected: expect?.name ?? "an image",
                             reason: .system(operation: "open", errno: errno))
        }
        try self.init(input: ByteInput(fd: FileDescriptor(rawValue: raw), owned: true), path: name, expect: expect, limits: limits)
    }

    /// Reads from an fd the caller owns, from its current position.
    public convenience init(fd: FileDescriptor, name: String, expect: ImageKind? = nil, limits: ImageLimits = ImageLimits()) throws(ImageError) {
        try self.init(input: ByteInput(fd: fd, owned: false), path: name, expect: expect, limits: limits)
    }

    /// Reads from memory (tests, fuzzing, small embedded images).
    public convenience init(bytes: [UInt8], name: String, expect: ImageKind? = nil, limits: ImageLimits = ImageLimits()) throws(ImageError) {
        try self.init(input: ByteInput(bytes: bytes), path: name, expect: expect, limits: limits)
    }

    private init(input: ByteInput, path: String, expect: ImageKind?, limits: ImageLimits) throws(ImageError) {
        self.input = input
        self.path = path
        self.limits = limits
        self.kind = ImageKind.pages  // replaced below once the magic is known
        do {
            self.kind = try readHeader(expect: expect)
        } catch {
            input.close()
            throw error
        }
    }

    deinit { input.close() }

    private func fail(_ expected: String, _ reason: ImageError.Reason, at offset: UInt64? = nil, entry: Int?? = .none) -> ImageError {
        let e: Int?
        switch entry {
        case .none: e = entryIndex
        case .some(let v): e = v
        }
        return ImageError(file: path, offset: offset ?? input.offset, entry: e, expected: expected, reason: reason)
    }

    private func sys(_ op: String, _ err: Errno, expected: String) -> ImageError {
        fail(expected, .system(operation: op, errno: err.rawValue))
    }

    private func readU32(expected: String, entry: Int?) throws(ImageError) -> UInt32? {
        let at = input.offset
        let b: [UInt8]
        do { b = try input.read(count: 4) } catch { throw sys("read", error, expected: expected) }
        if b.isEmpty { return nil }
        guard b.count == 4 else { throw fail(expected, .truncated(wanted: 4, got: b.count), at: at, entry: entry) }
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    private func readHeader(expect: ImageKind?) throws(ImageError) -> ImageKind {
        let want = expect.map { "\($0.name) magic" } ?? "image magic"
        if let expect, expect.header == .raw { return expect }
        guard let first = try readU32(expected: want, entry: nil) else {
            throw fail(want, .truncated(wanted: 4, got: 0), entry: .some(nil))
        }
        var found: ImageKind?
        if first == Magic.imgCommon || first == Magic.imgService {
            guard let second = try readU32(expected: want, entry: nil) else {
                throw fail(want, .truncated(wanted: 8, got: 4), entry: .some(nil))
            }
            found = ImageKind.byMagic(second)
            guard let k = found else { throw fail(want, .unknownMagic(second), at: 4, entry: .some(nil)) }
            let leading = k.header == .service ? Magic.imgService : Magic.imgCommon
            if leading != first { throw fail(want, .unknownMagic(first), at: 0, entry: .some(nil)) }
        } else if first == Magic.inventory {
            found = ImageKind.inventory
        } else {
            throw fail(want, .unknownMagic(first), at: 0, entry: .some(nil))
        }
        if let expect, expect.magic != found!.magic {
            throw fail(want, .wrongKind(found: found!.name), at: 0, entry: .some(nil))
        }
        return found!
    }

    /// The message type of the next entry.
    public var nextMessageType: (any SwiftProtobuf.Message.Type)? {
        if kind.hasPagemapHead && entryIndex == 0 { return PagemapHead.self }
        if kind.extra == .ghostFile && entryIndex > 0 { return GhostChunkEntry.self }
        return kind.message
    }

    /// Raw protobuf bytes of the next entry, nil at a clean end of file.
    public func nextEntryBytes(expected: String? = nil) throws(ImageError) -> [UInt8]? {
        let what = expected ?? nextMessageType?.protoMessageName ?? "entry"
        let start = input.offset
        guard let len = try readU32(expected: what, entry: entryIndex) else { return nil }
        entryOffset = start
        let length = UInt64(len)
        if length > limits.maxEntry {
            throw fail(what, .entryTooLarge(length: length, limit: limits.maxEntry), at: start)
        }
        if let rem = input.remaining, length > rem {
            throw fail(what, .pastEnd(length: length, remaining: rem), at: start)
        }
        let body: [UInt8]
        do { body = try input.read(count: Int(len)) } catch { throw sys("read", error, expected: what) }
        if body.count != Int(len) {
            throw fail(what, .truncated(wanted: Int(len), got: body.count), at: start + 4)
        }
        entryIndex += 1
        return body
    }

    /// The next entry decoded as `M`, nil at a clean end of file.
    public func next<M: SwiftProtobuf.Message>(_ type: M.Type) throws(ImageError) -> M? {
        guard let body = try nextEntryBytes(expected: M.protoMessageName) else { return nil }
        return try parse(type, body)
    }

    /// The next entry as the kind's own message type (PagemapHead first for pagemaps).
    public func nextMessage() throws(ImageError) -> (any SwiftProtobuf.Message)? {
        guard let type = nextMessageType else {
            throw fail(kind.name, .unsupportedKind, entry: .some(nil))
        }
        if kind.extra == .ghostFile && entryIndex == 1 && !ghostChunked {
            // An unchunked ghost file is one entry and the raw contents.
            if try atEnd() { return nil }
            throw fail("end of file", .invalid("data after an unchunked ghost file entry"))
        }
        guard let body = try nextEntryBytes(expected: type.protoMessageName) else { return nil }
        let m = try parse(type, body)
        if let g = m as? GhostFileEntry { ghostChunked = g.chunks }
        return m
    }

    func parse<M: SwiftProtobuf.Message>(_ type: M.Type, _ body: [UInt8]) throws(ImageError) -> M {
        do {
            return try M(serializedBytes: body)
        } catch {
            throw fail(M.protoMessageName, .badProtobuf(String(describing: error)), at: entryOffset, entry: entryIndex - 1)
        }
    }

    /// Reads `count` payload bytes that follow the current entry.
    public func readPayload(_ count: UInt64, what: String = "payload") throws(ImageError) -> [UInt8] {
        try checkPayload(count, what: what)
        if count > limits.maxPayload {
            throw fail(what, .entryTooLarge(length: count, limit: limits.maxPayload), entry: entryIndex - 1)
        }
        let at = input.offset
        let b: [UInt8]
        do { b = try input.read(count: Int(count)) } catch { throw sys("read", error, expected: what) }
        if b.count != Int(count) {
            throw fail(what, .truncated(wanted: Int(count), got: b.count), at: at, entry: entryIndex - 1)
        }
        return b
    }

    /// Streams `count` payload bytes into `body` in window-sized pieces (big ghost files).
    public func readPayload(_ count: UInt64, what: String = "payload", chunk body: ([UInt8]) throws -> Void) throws {
        try checkPayload(count, what: what)
        var left = count
        while left > 0 {
            let piece = try readPayload(min(left, UInt64(ByteInput.windowSize)), what: what)
            try body(piece)
            left -= UInt64(piece.count)
        }
    }

    /// Skips `count` payload bytes.
    public func skipPayload(_ count: UInt64, what: String = "payload") throws(ImageError) {
        try checkPayload(count, what: what)
        let at = input.offset
        let n: UInt64
        do { n = try input.skip(count) } catch { throw sys("read", error, expected: what) }
        if n != count {
            throw fail(what, .truncated(wanted: Int(clamping: count), got: Int(n)), at: at, entry: entryIndex - 1)
        }
    }

    /// Reads everything up to the end of the file (a ghost file's contents).
    public func readToEnd(what: String = "payload") throws(ImageError) -> [UInt8] {
        if let rem = input.remaining { return try readPayload(rem, what: what) }
        var out: [UInt8] = []
        while true {
            let b: [UInt8]
            do { b = try input.read(count: ByteInput.windowSize) } catch { throw sys("read", error, expected: what) }
            if b.isEmpty { return out }
            out += b
            if UInt64(out.count) > limits.maxPayload {
                throw fail(what, .entryTooLarge(length: UInt64(out.count), limit: limits.maxPayload), entry: entryIndex - 1)
            }
        }
    }

    private func checkPayload(_ count: UInt64, what: String) throws(ImageError) {
        if let rem = input.remaining, count > rem {
            throw fail(what, .pastEnd(length: count, remaining: rem), entry: entryIndex - 1)
        }
    }

    /// File offset of the next unread byte.
    public var offset: UInt64 { input.offset }

    /// True when the file has no more bytes.
    public func atEnd() throws(ImageError) -> Bool {
        do { return try input.atEnd() } catch { throw sys("read", error, expected: "entry") }
    }
}
