import Foundation
import Images
import SwiftProtobuf
import Testing

@Suite struct RoundTripTests {
    /// Every message type in the schema is reachable from some image kind, so
    /// round-tripping every kind (with all fields set) covers every message.
    @Test func everyMessageIsCovered() {
        var seen = Set<String>()
        var todo = Samples.modelledKinds.map { $0.message!.protoMessageName }
        todo += [PagemapHead.protoMessageName, GhostChunkEntry.protoMessageName, IpcMsg.protoMessageName]
        while let n = todo.popLast() {
            guard seen.insert(n).inserted else { continue }
            for f in ProtoSchema.messages[n] ?? [] where f.type == 11 { todo.append(f.typeName) }
        }
        let all = Set(ProtoSchema.messages.keys)
        // Messages the format defines for kinds we do not give a file (yet).
        let unreached = all.subtracting(seen)
        #expect(unreached.isEmpty, "not reachable from any image kind: \(unreached.sorted())")
    }

    @Test(arguments: Samples.modelledKinds.map(\.name))
    func roundTrip(kindName: String) throws {
        let kind = ImageKind.byName(kindName)!
        let entries = try Samples.entries(kind)
        let bytes = try writeImage(kind, entries)
        let (found, back) = try readImage(bytes)
        #expect(found.name == kind.name)
        #expect(sameEntries(entries, back), "decoded entries differ for \(kindName)")
        // decode then encode is byte-identical
        #expect(try writeImage(kind, back) == bytes)
        // and the protobuf bytes of every message survive serialization untouched
        for e in back {
            let b: [UInt8] = try e.message.serializedBytes()
            let again = try type(of: e.message).init(serializedBytes: b)
            #expect(sameMessage(again, e.message))
        }
    }

    @Test func emptyImagesRoundTrip() throws {
        for kind in Samples.modelledKinds {
            let bytes = try writeImage(kind, [])
            let (found, back) = try readImage(bytes)
            #expect(found.magic == kind.magic)
            #expect(back.isEmpty)
        }
    }

    @Test func unknownFieldsSurvive() throws {
        // An aarch64 register block (field 8) is not modelled but must not be lost.
        let known: [UInt8] = try Samples.message(CoreEntry.self, seed: 1).serializedBytes()
        var extraField: [UInt8] = [0x42, 0x03, 0x08, 0x96, 0x01]  // field 8, length 3: {1: 150}
        let core = try CoreEntry(serializedBytes: known + extraField)
        let bytes = try writeImage(.core, [ImageEntry(core)])
        let (_, back) = try readImage(bytes)
        let again: [UInt8] = try back[0].message.serializedBytes()
        extraField = Array(again.suffix(5))
        #expect(extraField == [0x42, 0x03, 0x08, 0x96, 0x01])
        #expect(try writeImage(.core, back) == bytes)
    }
}
