import Glibc
import CSys
import Testing
import Images
@testable import Engine

/// File identity checks and ghost-file data ranges on real files.
@Suite struct RegularFileCheckTests {
    /// `readelf -n` output's "Build ID: HEX" for a file.
    func readelfBuildId(_ path: String) -> String? {
        guard let f = popen("readelf -n \(path) 2>/dev/null", "r") else { return nil }
        defer { pclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, 512, f) != nil {
            let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let r = s.range(of: "Build ID: ") { return String(s[r.upperBound...].prefix { $0.isHexDigit }) }
        }
        return nil
    }

    func hex(_ words: [UInt32]) -> String {
        words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }
            .map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test func buildIdMatchesReadelf() throws {
        let want = try #require(readelfBuildId("/bin/bash"))
        let got = try #require(ElfBuildId.read(path: "/bin/bash"))
        // Words pad the id to a multiple of 4 bytes with zeros.
        #expect(hex(got).hasPrefix(want) && hex(got).dropFirst(want.count).allSatisfy { $0 == "0" })
        #expect(ElfBuildId.read(path: "/etc/hostname") == nil)
    }

    @Test func changedBuildIdIsRefused() throws {
        var st = stat()
        try #require(csys_stat("/bin/bash", &st) == 0)
        var e = RegularFile.entry(id: 1, path: "/bin/bash", flags: UInt32(O_RDONLY), pos: 0, stat: st, mntId: nil).reg
        #expect(!e.buildID.isEmpty && e.hasSize && e.hasMtimeNs)
        try RegularFileCheck.verify(e, stat: st)
        e.buildID[0] ^= 1
        #expect {
            try RegularFileCheck.verify(e, stat: st)
        } throws: { "\($0)".contains("/bin/bash") && "\($0)".contains("ELF build-id changed") }
    }

    @Test func appendOnlyLogIsNotChecked() throws {
        var st = stat()
        try #require(csys_stat("/bin/bash", &st) == 0)
        var e = RegularFile.entry(id: 1, path: "/bin/bash", flags: UInt32(O_WRONLY | O_APPEND), pos: 0, stat: st, mntId: nil).reg
        #expect(!e.hasSize && !e.hasMtimeNs)
        e.size = 1
        try RegularFileCheck.verify(e, stat: st)
    }

    @Test func dataRangesSkipHoles() throws {
        var name = Array("/tmp/criu-sparse-XXXXXX".utf8CString)
        let fd = mkstemp(&name)
        try #require(fd >= 0)
        defer { close(fd); unlink(name) }
        try #require(ftruncate(fd, 1 << 20) == 0)
        let block = [UInt8](repeating: 7, count: 4096)
        try #require(pwrite(fd, block, 4096, 512 << 10) == 4096)
        try #require(fsync(fd) == 0)
        let ranges = try #require(GhostContents.dataRanges(fd, size: 1 << 20))
        #expect(ranges.count == 1 && ranges[0].off == 512 << 10 && ranges[0].len == 4096)
        let chunks = try GhostContents.readChunks(fd, ranges: ranges, pid: getpid(), fd: fd)
        #expect(chunks.count == 1 && chunks[0].data == block)
    }
}
