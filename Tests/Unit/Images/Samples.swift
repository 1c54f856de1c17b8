import Foundation
import Images
import SwiftProtobuf
@testable import crit

/// Builds a message of any image type with every field set, from the schema,
/// so round trips cover every field of every message without a hand list.
enum Samples {
    /// JSON for a message with all fields set; `seed` varies the values.
    static func json(_ name: String, seed: Int, depth: Int = 0) -> String {
        let fields = ProtoSchema.messages[name] ?? []
        var parts: [String] = []
        for f in fields {
            // Recursive types (cgroup dirs) stop after two levels.
            if f.type == 11 && depth > 2 && f.typeName == name { continue }
            func one(_ k: Int) -> String {
                let v = seed &* 31 &+ f.number &* 7 &+ k
                switch f.type {
                case 1, 2: return "\(Double(v) + 0.5)"
                case 3, 18, 16: return "\(-Int64(v) * 1_000_003)"  // int64 family, negative
                case 5, 17, 15: return "\(-v)"
                case 4, 6: return "\(UInt64(v) &* 0x1_0000_0001 | 0x8000_0000_0000_0000)"
                case 13, 7: return "\(UInt32(truncatingIfNeeded: v) | 0x8000_0000)"
                case 8: return v % 2 == 0 ? "true" : "false"
                case 9: return "\"s\(v) \\\"q\\\" é\""
                case 12: return "\"" + Data((0..<(v % 13 + 1)).map { UInt8(truncatingIfNeeded: $0 &* v) }).base64EncodedString() + "\""
                case 14:
                    let vals = (ProtoSchema.enums[f.typeName] ?? [:]).keys.sorted()
                    let pick = vals[(v % vals.count)]
                    return "\"" + ProtoSchema.enums[f.typeName]![pick]! + "\""
                case 11, 10: return json(f.typeName, seed: v, depth: depth + 1)
                default: fatalError("type \(f.type)")
                }
            }
            var value = f.repeated ? "[" + [one(0), one(1)].joined(separator: ", ") + "]" : one(0)
            if case .ip? = prettyStyles[name]?[f.name] {
                // Addresses are one word (IPv4) or four (IPv6), never another count.
                value = "[" + (seed % 2 == 0 ? (0..<4).map(one) : [one(0)]).joined(separator: ", ") + "]"
            }
            parts.append("\"\(f.name)\": \(value)")
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    static func message<M: SwiftProtobuf.Message>(_ t: M.Type, seed: Int) throws -> M {
        try M(jsonString: json(M.protoMessageName, seed: seed))
    }

    static func any(_ t: any SwiftProtobuf.Message.Type, seed: Int) throws -> any SwiftProtobuf.Message {
        try message(t, seed: seed)
    }

    static func bytes(_ n: Int, _ seed: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ seed) }
    }

    /// A realistic image of `kind`: several entries, payloads consistent with the headers.
    static func entries(_ kind: ImageKind, count: Int = 3) throws -> [ImageEntry] {
        var out: [ImageEntry] = []
        switch kind.extra {
        case .ghostFile:
            var g = try message(GhostFileEntry.self, seed: 1)
            g.chunks = true
            out.append(ImageEntry(g))
            for i in 0..<count {
                var c = try message(GhostChunkEntry.self, seed: i)
                c.len = UInt64(5 + i)
                out.append(ImageEntry(c, extra: .bytes(bytes(5 + i, i))))
            }
            return out
        default: break
        }
        if kind.hasPagemapHead { out.append(ImageEntry(try message(PagemapHead.self, seed: 9))) }
        for i in 0..<count {
            var m = try any(kind.message!, seed: i)
            var extra: EntryExtra?
            switch kind.extra {
            case .none, .ghostFile: break
            case .pipeData:
                var p = m as! PipeDataEntry
                p.bytes = UInt32(10 + i)
                m = p
                extra = .bytes(bytes(10 + i, i))
            case .socketQueue:
                var p = m as! SkPacketEntry
                p.length = UInt32(3 + i)
                m = p
                extra = .bytes(bytes(3 + i, i))
            case .tcpQueues:
                var p = m as! TcpStreamEntry
                p.inqLen = UInt32(4 + i)
                p.outqLen = UInt32(7 + i)
                m = p
                extra = .tcpQueues(inq: bytes(4 + i, i), outq: bytes(7 + i, i + 1))
            case .sysvShm:
                var p = m as! IpcShmEntry
                p.inPagemaps = i == 2
                p.size = UInt64(5 + i)
                m = p
                extra = i == 2 ? nil : .bytes(bytes(5 + i, i))
            case .sysvSem:
                var p = m as! IpcSemEntry
                p.nsems = UInt32(1 + i)
                m = p
                extra = .semaphores((0...i).map { UInt16(1000 + $0) })
            case .sysvMsg:
                var p = m as! IpcMsgEntry
                p.qnum = UInt32(i)
                m = p
                var msgs: [QueuedMessage] = []
                for j in 0..<i {
                    var h = try message(IpcMsg.self, seed: j)
                    h.msize = UInt32(3 + j * 5)
                    msgs.append(QueuedMessage(header: h, data: bytes(3 + j * 5, j)))
                }
                extra = .messages(msgs)
            }
            out.append(ImageEntry(m, extra: extra))
        }
        return out
    }

    static var modelledKinds: [ImageKind] { ImageKind.all.filter { $0.message != nil } }
}

func sameMessage(_ a: any SwiftProtobuf.Message, _ b: any SwiftProtobuf.Message) -> Bool {
    a.isEqualTo(message: b)
}

func sameEntries(_ a: [ImageEntry], _ b: [ImageEntry]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { sameMessage($0.message, $1.message) && $0.extra == $1.extra }
}

func writeImage(_ kind: ImageKind, _ entries: [ImageEntry], name: String = "test.img") throws -> [UInt8] {
    let w = try ImageWriter(memoryNamed: name, kind: kind)
    for e in entries { try w.write(e) }
    try w.close()
    return w.bytes
}

func readImage(_ bytes: [UInt8], name: String = "test.img", expect: ImageKind? = nil) throws -> (ImageKind, [ImageEntry]) {
    let r = try ImageReader(bytes: bytes, name: name, expect: expect)
    var out: [ImageEntry] = []
    while let e = try r.nextEntry() { out.append(e) }
    return (r.kind, out)
}

/// A scratch directory removed when the value goes away.
final class TempDir {
    let path: String
    init() {
        var t = Array("/tmp/images-test-XXXXXX".utf8CString)
        path = t.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
