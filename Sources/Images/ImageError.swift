import Glibc

/// Everything that can go wrong reading or writing an image, with where it happened.
public struct ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// open/read/write/fsync/close failed; errno kept.
        case system(operation: String, errno: Int32)
        /// The file ended inside something that had to be there.
        case truncated(wanted: Int, got: Int)
        /// The leading words are no magic we know.
        case unknownMagic(UInt32)
        /// A valid image, but not of the kind the caller asked for.
        case wrongKind(found: String)
        /// An entry length larger than any sane entry.
        case entryTooLarge(length: UInt64, limit: UInt64)
        /// An entry or payload length that runs past the end of the file.
        case pastEnd(length: UInt64, remaining: UInt64)
        /// The protobuf bytes did not parse (or lacked required fields).
        case badProtobuf(String)
        /// The message could not be serialized (required fields unset, ...).
        case cannotEncode(String)
        /// The image kind has no modelled message; its entries cannot be decoded.
        case unsupportedKind
        /// An entry is well-formed protobuf but inconsistent with the format.
        case invalid(String)
    }

    public var file: String
    /// Byte offset in the file where the failing item starts.
    public var offset: UInt64
    /// 0-based index of the entry being read/written, nil for the header.
    public var entry: Int?
    /// What we were expecting there (a message name, "magic", "payload"...).
    public var expected: String
    public var reason: Reason

    public init(file: String, offset: UInt64, entry: Int?, expected: String, reason: Reason) {
        self.file = file
        self.offset = offset
        self.entry = entry
        self.expected = expected
        self.reason = reason
    }

    public var description: String {
        var at = "\(file): "
        if let entry { at += "entry \(entry) " }
        at += "at byte \(offset): "
        return at + reasonText + " (expected \(expected))"
    }

    private var reasonText: String {
        switch reason {
        case .system(let op, let e):
            return "\(op) failed: \(String(cString: strerror(e)))"
        case .truncated(let wanted, let got):
            return "file ends after \(got) of \(wanted) bytes"
        case .unknownMagic(let m):
            return "unknown magic 0x\(String(m, radix: 16))"
        case .wrongKind(let found):
            return "image is \(found)"
        case .entryTooLarge(let len, let limit):
            return "entry length \(len) exceeds the limit of \(limit) bytes"
        case .pastEnd(let len, let remaining):
            return "length \(len) runs past the end of the file (\(remaining) bytes left)"
        case .badProtobuf(let why):
            return "protobuf does not parse: \(why)"
        case .cannotEncode(let why):
            return "cannot encode: \(why)"
        case .unsupportedKind:
            return "entries of this kind are not modelled"
        case .invalid(let why):
            return why
        }
    }
}
