import SwiftProtobuf

/// A SysV message with its text, as stored after an ipc_msg_entry.
public struct QueuedMessage: Equatable, Sendable {
    public var header: IpcMsg
    public var data: [UInt8]
    public init(header: IpcMsg, data: [UInt8]) {
        self.header = header
        self.data = data
    }
}

/// The non-protobuf bytes some entries carry after them.
public enum EntryExtra: Equatable, Sendable {
    /// Pipe/fifo data, a socket's queued packet, ghost file contents, a SysV shm segment.
    case bytes([UInt8])
    /// A TCP socket's receive and send queues.
    case tcpQueues(inq: [UInt8], outq: [UInt8])
    /// Values of a SysV semaphore set.
    case semaphores([UInt16])
    /// Messages of a SysV message queue.
    case messages([QueuedMessage])
}

/// One decoded entry and whatever payload followed it.
public struct ImageEntry {
    public var message: any SwiftProtobuf.Message
    public var extra: EntryExtra?
    public init(_ message: any SwiftProtobuf.Message, extra: EntryExtra? = nil) {
        self.message = message
        self.extra = extra
    }
}

extension ImageReader {
    /// The next entry with its payload, decoded per the kind's framing rules.
    /// Payloads are read into memory (bounded by `limits.maxPayload`); use
    /// `next(_:)` and `readPayload(_:chunk:)` to stream very large ones instead.
    public func nextEntry() throws(ImageError) -> ImageEntry? {
        guard let message = try nextMessage() else { return nil }
        switch kind.extra {
        case .none:
            return ImageEntry(message)
        case .pipeData:
            let m = message as! PipeDataEntry
            return ImageEntry(m, extra: .bytes(try readPayload(UInt64(m.bytes), what: "pipe data")))
        case .socketQueue:
            let m = message as! SkPacketEntry
            return ImageEntry(m, extra: .bytes(try readPayload(UInt64(m.length), what: "queued packet")))
        case .tcpQueues:
            let m = message as! TcpStreamEntry
            let inq = try readPayload(UInt64(m.inqLen), what: "tcp receive queue")
            let outq = try readPayload(UInt64(m.outqLen), what: "tcp send queue")
            return ImageEntry(m, extra: .tcpQueues(inq: inq, outq: outq))
        case .ghostFile:
            if let chunk = message as? GhostChunkEntry {
                return ImageEntry(chunk, extra: .bytes(try readPayload(chunk.len, what: "ghost chunk")))
            }
            let m = message as! GhostFileEntry
            if m.chunks { return ImageEntry(m) }
            return ImageEntry(m, extra: .bytes(try readToEnd(what: "ghost file contents")))
        case .sysvShm:
            let m = message as! IpcShmEntry
            if m.inPagemaps { return ImageEntry(m) }
            let data = try readPayload(m.size, what: "shm segment")
            try skipPayload(Framing.padding(m.size, 4), what: "shm padding")
            return ImageEntry(m, extra: .bytes(data))
        case .sysvSem:
            let m = message as! IpcSemEntry
            let size = UInt64(m.nsems) * 2
            let raw = try readPayload(size, what: "semaphore values")
            try skipPayload(Framing.padding(size, 8), what: "semaphore padding")
            var values: [UInt16] = []
            values.reserveCapacity(Int(m.nsems))
            for i in stride(from: 0, to: raw.count, by: 2) {
                values.append(UInt16(raw[i]) | UInt16(raw[i + 1]) << 8)
            }
            return ImageEntry(m, extra: .semaphores(values))
        case .sysvMsg:
            let m = message as! IpcMsgEntry
            var messages: [QueuedMessage] = []
            for _ in 0..<m.qnum {
                guard let body = try nextEntryBytes(expected: IpcMsg.protoMessageName) else {
                    throw ImageError(file: path, offset: offset, entry: entryIndex, expected: IpcMsg.protoMessageName,
                                     reason: .truncated(wanted: 4, got: 0))
                }
                entryIndex -= 1  // queued messages belong to the queue's entry
                let header = try parse(IpcMsg.self, body)
                let data = try readPayload(UInt64(header.msize), what: "message text")
                try skipPayload(Framing.padding(UInt64(header.msize), 8), what: "message padding")
                messages.append(QueuedMessage(header: header, data: data))
            }
            return ImageEntry(m, extra: .messages(messages))
        }
    }
}

extension ImageWriter {
    /// Writes an entry and its payload with the kind's padding rules.
    public func write(_ entry: ImageEntry) throws(ImageError) {
        try write(entry.message)
        guard let extra = entry.extra else { return }
        switch extra {
        case .bytes(let b):
            try writePayload(b)
            if kind.extra == .sysvShm { try writePadding(after: UInt64(b.count), alignment: 4) }
        case .tcpQueues(let inq, let outq):
            try writePayload(inq)
            try writePayload(outq)
        case .semaphores(let values):
            var raw: [UInt8] = []
            raw.reserveCapacity(values.count * 2)
            for v in values { raw.append(UInt8(v & 0xff)); raw.append(UInt8(v >> 8)) }
            try writePayload(raw)
            try writePadding(after: UInt64(raw.count), alignment: 8)
        case .messages(let msgs):
            for m in msgs {
                try write(m.header)
                entryIndexAdjust(-1)
                try writePayload(m.data)
                try writePadding(after: UInt64(m.data.count), alignment: 8)
            }
        }
    }
}

/// Small arithmetic shared by reader and writer.
public enum Framing {
    /// Bytes of zero padding after `length` to reach a multiple of `alignment`.
    public static func padding(_ length: UInt64, _ alignment: UInt64) -> UInt64 {
        (alignment - length % alignment) % alignment
    }
}
