import Foundation
import Images
import SwiftProtobuf
import Testing

@Suite struct BadInputTests {
    func good() throws -> [UInt8] {
        try writeImage(.pstree, try Samples.entries(.pstree), name: "pstree.img")
    }

    func failure(_ bytes: [UInt8], expect: ImageKind? = nil, limits: ImageLimits = ImageLimits()) -> ImageError? {
        do {
            let r = try ImageReader(bytes: bytes, name: "pstree.img", expect: expect, limits: limits)
            while try r.nextEntry() != nil {}
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyFile() throws {
        let e = try #require(failure([]))
        #expect(e.reason == .truncated(wanted: 4, got: 0))
        #expect(e.entry == nil && e.offset == 0 && e.file == "pstree.img")
    }

    @Test func truncatedHeader() throws {
        let e = try #require(failure(Array(try good().prefix(6))))
        #expect(e.reason == .truncated(wanted: 4, got: 2))
        #expect(e.offset == 4)
    }

    @Test func wrongMagic() throws {
        var b = try good()
        b[0] ^= 0xff
        let e = try #require(failure(b))
        if case .unknownMagic = e.reason {} else { Issue.record("got \(e)") }
        #expect(e.description.contains("pstree.img") && e.description.contains("magic"))
    }

    @Test func unknownTypeMagic() throws {
        var b = try good()
        b[4] ^= 0xff
        let e = try #require(failure(b))
        if case .unknownMagic = e.reason {} else { Issue.record("got \(e)") }
        #expect(e.offset == 4)
    }

    @Test func wrongKind() throws {
        let e = try #require(failure(try good(), expect: .core))
        #expect(e.reason == .wrongKind(found: "PSTREE"))
        #expect(e.expected.contains("CORE"))
    }

    @Test func truncatedLengthWord() throws {
        let b = try good()
        let first = Int(b[8]) | Int(b[9]) << 8
        let cut = Array(b.prefix(8 + 4 + first + 2))
        let e = try #require(failure(cut))
        #expect(e.reason == .truncated(wanted: 4, got: 2))
        #expect(e.entry == 1)
        #expect(e.offset == UInt64(8 + 4 + first))
    }

    @Test func lengthPastEnd() throws {
        var b = try good()
        b[8] = 0xff; b[9] = 0xff; b[10] = 0; b[11] = 0
        let e = try #require(failure(b))
        if case .pastEnd(let len, _) = e.reason { #expect(len == 0xffff) } else { Issue.record("got \(e)") }
        #expect(e.entry == 0 && e.offset == 8)
        #expect(e.expected == "criu.PstreeEntry")
    }

    @Test func absurdLength() throws {
        var b = try good()
        b[8] = 0xff; b[9] = 0xff; b[10] = 0xff; b[11] = 0xff
        let e = try #require(failure(b))
        if case .entryTooLarge(let len, _) = e.reason { #expect(len == 0xffff_ffff) } else { Issue.record("got \(e)") }
    }

    @Test func lengthOverConfiguredLimit() throws {
        var l = ImageLimits()
        l.maxEntry = 4
        let e = try #require(failure(try good(), limits: l))
        if case .entryTooLarge(_, let limit) = e.reason { #expect(limit == 4) } else { Issue.record("got \(e)") }
    }

    @Test func protobufThatDoesNotParse() throws {
        let bytes = le32(0x5456_4319) + le32(0x5027_3030) + le32(3) + [0xff, 0xff, 0xff]
        let e = try #require(failure(bytes))
        if case .badProtobuf = e.reason {} else { Issue.record("got \(e)") }
        #expect(e.entry == 0 && e.offset == 8)
    }

    @Test func missingRequiredField() throws {
        var p = PstreeEntry()
        p.pid = 1  // ppid, pgid, sid are required
        let body: [UInt8] = try p.serializedBytes(partial: true)
        let bytes = le32(0x5456_4319) + le32(0x5027_3030) + le32(UInt32(body.count)) + body
        let e = try #require(failure(bytes))
        if case .badProtobuf = e.reason {} else { Issue.record("got \(e)") }
    }

    @Test func payloadPastEnd() throws {
        var p = PipeDataEntry()
        p.pipeID = 1; p.bytes = 1000
        let kind = ImageKind.byName("PIPES_DATA")!
        let bytes = try writeImage(kind, [ImageEntry(p, extra: .bytes([1, 2, 3]))])
        let e = try #require(failure(bytes))
        if case .pastEnd(let len, let rem) = e.reason { #expect(len == 1000 && rem == 3) } else { Issue.record("got \(e)") }
        #expect(e.expected == "pipe data" && e.entry == 0)
    }

    @Test func writerRefusesIncompleteMessages() throws {
        let w = try ImageWriter(memoryNamed: "pstree.img", kind: .pstree)
        var p = PstreeEntry()
        p.pid = 1
        #expect(throws: ImageError.self) { try w.write(p) }
    }

    @Test func missingFileAndUnwritableDirectory() throws {
        let e1 = try #require(failure_open("/nonexistent/pstree.img"))
        #expect(e1.reason == .system(operation: "open", errno: ENOENT))
        #expect(e1.description.contains("No such file"))
        #expect(throws: ImageError.self) { try ImageWriter(path: "/nonexistent/x.img", kind: .pstree) }
    }

    func failure_open(_ path: String) -> ImageError? {
        do { _ = try ImageReader(path: path); return nil } catch { return error }
    }

    /// Every prefix and many single-byte corruptions of every kind's image fail
    /// cleanly (typed error) or decode; nothing crashes.
    @Test func everyPrefixAndBitFlipIsHandled() throws {
        for kind in Samples.modelledKinds {
            let b = try writeImage(kind, try Samples.entries(kind, count: 2))
            for cut in stride(from: 0, to: b.count, by: max(1, b.count / 64)) {
                _ = failure(Array(b.prefix(cut)))
            }
            for i in stride(from: 0, to: b.count, by: max(1, b.count / 32)) {
                var c = b
                c[i] ^= 0x5a
                _ = failure(c)
            }
        }
    }
}
