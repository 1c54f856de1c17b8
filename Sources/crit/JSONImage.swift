import Foundation
import Images
import SwiftProtobuf

/// A failure of crit's own (not of the image reader), reported as one line.
struct CritError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Image to JSON, entry by entry, so a large image never sits in memory as a whole.
struct ImageToJSON {
    let pretty: Bool
    let emitter: JSONEmitter

    init(pretty: Bool) {
        self.pretty = pretty
        emitter = JSONEmitter(pretty: pretty, cache: SchemaCache())
    }

    func extraJSON(_ extra: EntryExtra) -> JSONValue {
        switch extra {
        case .bytes(let b): return .string(JSONText.base64Lines(b))
        case .tcpQueues(let inq, let outq):
            return .object([("inq", .string(JSONText.base64Lines(inq))), ("outq", .string(JSONText.base64Lines(outq)))])
        case .semaphores(let v): return .array(v.map { .number(String($0)) })
        case .messages(let msgs):
            var a: [JSONValue] = []
            for m in msgs {
                a.append(emitter.tree(m.header))
                a.append(.string(JSONText.base64Lines(m.data)))
            }
            return .array(a)
        }
    }

    func entryJSON(_ e: ImageEntry) -> JSONValue {
        guard case .object(var kv) = emitter.tree(e.message) else { return .null }
        if let x = e.extra { kv.append(("extra", extraJSON(x))) }
        return .object(kv)
    }

    /// Writes the whole image as JSON through `write`.
    func convert(_ reader: ImageReader, write: (String) throws -> Void) throws {
        var s = ""
        JSONText.quote(reader.kind.name, into: &s)
        try write(pretty ? "{\n    \"magic\": \(s),\n    \"entries\": [" : "{\"magic\": \(s), \"entries\": [")
        var n = 0
        while let e = try reader.nextEntry() {
            let v = entryJSON(e)
            if pretty {
                try write((n == 0 ? "\n        " : ",\n        ") + v.pretty(level: 2))
            } else {
                try write((n == 0 ? "" : ", ") + v.text)
            }
            n += 1
        }
        try write(pretty ? (n == 0 ? "]\n}" : "\n    ]\n}") : "]}")
    }
}

/// JSON (ours or CRIU crit's) back to an image file.
struct JSONToImage {
    let cache = SchemaCache()

    /// Rewrites an entry so SwiftProtobuf's JSON decoder takes it: base64 with line
    /// breaks made flat, "0x..." strings (crit's pretty output) made numbers.
    func normalize(_ v: JSONValue, message: String, allHex: Bool = false) throws -> JSONValue {
        guard case .object(let kv) = v else { throw CritError("entry of \(message) is not a JSON object") }
        let byName = Dictionary((ProtoSchema.messages[message] ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let styles = prettyStyles[message] ?? [:]
        var out: [(String, JSONValue)] = []
        for (k, val) in kv {
            guard let f = byName[k] else { throw CritError("\(message) has no field \"\(k)\"") }
            let style: PrettyStyle? = allHex ? .hex : styles[k]
            func one(_ x: JSONValue) throws -> JSONValue {
                switch (f.type, x) {
                case (11, _), (10, _):
                    var hexInside = allHex
                    if case .hex? = style { hexInside = true }
                    return try normalize(x, message: f.typeName, allHex: hexInside)
                case (12, .string(let s)) where quotedPrintableFields[message]?.contains(k) == true:
                    guard let raw = QuotedPrintable.decode(s) else {
                        throw CritError("\(message).\(k): bad quoted-printable text")
                    }
                    return .string(Data(raw).base64EncodedString())
                case (12, .string(let s)): return .string(s.filter { !$0.isWhitespace })
                case (9, _), (14, _), (8, _): return x
                case (_, .string(let s)):
                    guard let n = Pretty.parse(s, style ?? .hex) else {
                        throw CritError("\(message).\(k): cannot read \"\(s)\" as a number")
                    }
                    return .number(String(n))
                default: return x
                }
            }
            if f.repeated, case .array(let a) = val {
                if case .ip? = style, a.count == 1, case .string(let s) = a[0], let w = Pretty.words(fromAddress: s) {
                    out.append((k, .array(w.map { .number(String($0)) })))
                } else {
                    out.append((k, .array(try a.map(one))))
                }
            } else {
                out.append((k, try one(val)))
            }
        }
        return .object(out)
    }

    func decodeMessage<M: SwiftProtobuf.Message>(_ type: M.Type, _ v: JSONValue) throws -> M {
        let text = try normalize(v, message: M.protoMessageName).text
        var opts = JSONDecodingOptions()
        opts.ignoreUnknownFields = false
        do {
            return try M(jsonString: text, options: opts)
        } catch {
            throw CritError("cannot build \(M.protoMessageName) from JSON: \(error)")
        }
    }

    func bytes(_ v: JSONValue?, _ what: String) throws -> [UInt8] {
        guard case .string(let s)? = v, let b = JSONText.unbase64(s) else {
            throw CritError("\(what): expected a base64 string in \"extra\"")
        }
        return b
    }

    func extra(_ kind: ImageKind, _ message: any SwiftProtobuf.Message, _ x: JSONValue?) throws -> EntryExtra? {
        switch kind.extra {
        case .none: return nil
        case .pipeData, .socketQueue: return .bytes(try bytes(x, kind.name))
        case .ghostFile:
            if let g = message as? GhostFileEntry, g.chunks { return nil }
            return .bytes(try bytes(x, kind.name))
        case .sysvShm:
            if let s = message as? IpcShmEntry, s.inPagemaps { return nil }
            return .bytes(try bytes(x, kind.name))
        case .tcpQueues:
            return .tcpQueues(inq: try bytes(x?["inq"], "inq"), outq: try bytes(x?["outq"], "outq"))
        case .sysvSem:
            guard case .array(let a)? = x else { throw CritError("IPCNS_SEM: \"extra\" must be a list of values") }
            return .semaphores(try a.map {
                guard case .number(let n) = $0, let v = UInt16(n) else { throw CritError("IPCNS_SEM: bad value \($0.text)") }
                return v
            })
        case .sysvMsg:
            guard case .array(let a)? = x, a.count % 2 == 0 else {
                throw CritError("IPCNS_MSG: \"extra\" must alternate message and base64 text")
            }
            var msgs: [QueuedMessage] = []
            for i in stride(from: 0, to: a.count, by: 2) {
                msgs.append(QueuedMessage(header: try decodeMessage(IpcMsg.self, a[i]), data: try bytes(a[i + 1], "IPCNS_MSG")))
            }
            return .messages(msgs)
        }
    }

    func convert(json: [UInt8], to path: String) throws {
        let root = try JSONParser.parse(json)
        guard case .string(let magic)? = root["magic"] else { throw CritError("JSON has no \"magic\" string") }
        guard let kind = ImageKind.byName(magic) else { throw CritError("unknown magic \"\(magic)\"") }
        guard case .array(let entries)? = root["entries"] else { throw CritError("JSON has no \"entries\" list") }
        guard kind.message != nil else { throw CritError("\(magic) images are not modelled; cannot encode") }
        let w = try ImageWriter(path: path, kind: kind)
        var chunked = false
        for (i, e) in entries.enumerated() {
            var type: any SwiftProtobuf.Message.Type = kind.message!
            if kind.hasPagemapHead && i == 0 { type = PagemapHead.self }
            if kind.extra == .ghostFile && i > 0 {
                guard chunked else { throw CritError("GHOST_FILE: more than one entry but \"chunks\" is not set") }
                type = GhostChunkEntry.self
            }
            guard case .object(var kv) = e else { throw CritError("entry \(i) is not a JSON object") }
            let x = kv.first { $0.0 == "extra" }?.1
            kv.removeAll { $0.0 == "extra" }
            let m: any SwiftProtobuf.Message
            do {
                m = try decodeMessage(type, .object(kv))
            } catch let err as CritError {
                throw CritError("entry \(i): \(err.description)")
            }
            if let g = m as? GhostFileEntry { chunked = g.chunks }
            var ex = try extra(kind, m, x)
            if m is GhostChunkEntry { ex = .bytes(try bytes(x, "ghost chunk")) }
            try w.write(ImageEntry(m, extra: ex))
        }
        try w.close()
    }
}
