import SwiftProtobuf

/// The words that open an image file, before its type magic.
public enum ImageHeader: Sendable, Equatable {
    /// IMG_COMMON then the type magic: almost every image.
    case common
    /// IMG_SERVICE then the type magic: files about a run (stats, irmap cache).
    case service
    /// Only the type magic: inventory.img, which says what the rest is.
    case bare
    /// No header and no entries: page contents, tarballs, ip(8) dumps.
    case raw
}

/// Bytes that follow an entry's protobuf in the file and are not part of it.
public enum ExtraPayload: Sendable, Equatable {
    case none
    /// pipes-data / fifo-data: `bytes` field says how many.
    case pipeData
    /// sk-queues: `length` field says how many.
    case socketQueue
    /// tcp-stream: `inq_len` then `outq_len` bytes.
    case tcpQueues
    /// ghost-file: the whole rest of the file, or chunk headers each with `len` bytes.
    case ghostFile
    /// ipcns-shm: `size` bytes padded to 4, unless the segment is in the pagemaps.
    case sysvShm
    /// ipcns-sem: `nsems` u16 values padded to 8 bytes.
    case sysvSem
    /// ipcns-msg: `qnum` (ipc_msg entry, `msize` bytes padded to 8) pairs.
    case sysvMsg
}

/// One kind of image file: its magic, how its file is named, what its entries hold.
public struct ImageKind: Sendable, CustomStringConvertible {
    /// The name CRIU's crit uses in JSON ("CORE", "PSTREE", ...).
    public let name: String
    public let magic: UInt32
    public let header: ImageHeader
    /// printf-style file names, as CRIU spells them (first is the usual one).
    public let files: [String]
    /// The protobuf message of every entry (pagemap: of the entries after the head).
    public let message: (any SwiftProtobuf.Message.Type)?
    public let extra: ExtraPayload

    public var description: String { name }

    /// The protobuf message name, for error text.
    public var messageName: String { message.map { $0.protoMessageName } ?? "raw data" }

    /// Whether the first entry is a PagemapHead rather than `message`.
    public var hasPagemapHead: Bool { magic == Magic.pagemap }
}

/// Magic numbers of the format. The two leading words come first in a file;
/// each type magic then names the image kind.
public enum Magic {
    public static let imgCommon: UInt32 = 0x5456_4319
    public static let imgService: UInt32 = 0x5510_5940
    public static let raw: UInt32 = 0
    public static let inventory: UInt32 = 0x5831_3116
    public static let pagemap: UInt32 = 0x5608_4025
    /// kerndat cache, not an image but shares the namespace of magics.
    public static let kerndat: UInt32 = 0x5702_3458
}
