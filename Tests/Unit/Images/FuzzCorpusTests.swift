import Foundation
import Images
import ImagesFuzz
import Testing

@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/images-corpus").path

    /// Regenerates the committed seed corpus: IMAGES_WRITE_CORPUS=1 swift test --filter FuzzCorpus
    @Test(.enabled(if: ProcessInfo.processInfo.environment["IMAGES_WRITE_CORPUS"] != nil))
    func writeSeedCorpus() throws {
        try FileManager.default.createDirectory(atPath: Self.corpus, withIntermediateDirectories: true)
        for kind in Samples.modelledKinds {
            let b = try writeImage(kind, try Samples.entries(kind, count: 2))
            _ = FileManager.default.createFile(atPath: Self.corpus + "/" + kind.name.lowercased(), contents: Data(b))
        }
    }

    /// The seed corpus replays through the fuzz entry point without trapping.
    @Test func seedCorpusReplays() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus)
        #expect(files.count >= 50)
        for f in files {
            let b = try #require(FileManager.default.contents(atPath: Self.corpus + "/" + f))
            fuzzImageBytes([UInt8](b))
        }
    }
}
