import Foundation
import Images
import Testing
@testable import crit

@Suite struct CritToolTests {
    /// decode then encode gives back the very bytes we wrote, for every kind, both JSON styles.
    @Test(arguments: [false, true])
    func jsonRoundTripIsByteIdentical(pretty: Bool) throws {
        let dir = TempDir()
        for kind in Samples.modelledKinds {
            let file = dir.path + "/" + kind.fileName(7)
            let w = try ImageWriter(path: file, kind: kind)
            for e in try Samples.entries(kind) { try w.write(e) }
            try w.close()
            var json = ""
            try ImageToJSON(pretty: pretty).convert(ImageReader(path: file)) { json += $0 }
            let back = dir.path + "/back.img"
            try JSONToImage().convert(json: Array(json.utf8), to: back)
            #expect(FileManager.default.contents(atPath: back) == FileManager.default.contents(atPath: file),
                    "\(kind.name) pretty=\(pretty)")
        }
    }

    @Test func quotedPrintableMatchesPythonRules() {
        #expect(QuotedPrintable.encode([0, 0x41, 0x3d, 0x20]) == "=00A=3D=20")
        #expect(QuotedPrintable.encode(Array("/tmp/sock".utf8)) == "/tmp/sock")
        let long = [UInt8](repeating: 0x61, count: 100)
        #expect(QuotedPrintable.decode(QuotedPrintable.encode(long)) == long)
        #expect(QuotedPrintable.decode("=0") == nil)
    }

    @Test func badJSONIsRejectedWithAReason() throws {
        let dir = TempDir()
        let cases: [(String, String)] = [
            ("{", "JSON"),
            ("{\"magic\": \"NOPE\", \"entries\": []}", "unknown magic"),
            ("{\"magic\": \"PSTREE\"}", "entries"),
            ("{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1, \"bogus\": 2}]}", "no field \"bogus\""),
            ("{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1}]}", "entry 0"),  // required fields missing
            ("{\"magic\": \"PIPES_DATA\", \"entries\": [{\"pipe_id\": 1, \"bytes\": 2}]}", "extra"),
        ]
        for (json, want) in cases {
            do {
                try JSONToImage().convert(json: Array(json.utf8), to: dir.path + "/x.img")
                Issue.record("accepted: \(json)")
            } catch {
                #expect(String(describing: error).contains(want), "\(json): \(error)")
            }
        }
    }
}
