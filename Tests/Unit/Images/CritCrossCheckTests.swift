import Foundation
import Images
import SwiftProtobuf
import Testing
@testable import crit

/// Decodes our images with Debian's CRIU crit (python) and compares its JSON with ours.
@Suite struct CritCrossCheckTests {
    static let critPath = "/usr/bin/crit"

    /// Runs CRIU's crit; returns stdout, or nil with its stderr.
    static func runCrit(_ args: [String]) throws -> (out: [UInt8]?, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: critPath)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus == 0 ? [UInt8](o) : nil, String(decoding: e, as: UTF8.self))
    }

    /// Compares two JSON trees. Keys only we print are collected in `onlyOurs`
    /// (fields Debian's older format lacks); anything else that differs is a mismatch.
    /// Fields renamed since Debian's CRIU 3.17: our name -> theirs (same field number).
    /// Ours "nr_pages" is field 5, which 3.17 does not have.
    static let renamed: [String: [String: String]] = [
        "PAGEMAP": ["compat_nr_pages": "nr_pages", "nr_pages": "nr_pages (field 5)"],
    ]

    static func compare(_ ours: JSONValue, _ theirs: JSONValue, path: String, pretty: Bool = false,
                        onlyOurs: inout Set<String>, mismatches: inout [String]) {
        switch (ours, theirs) {
        case let (.object(a0), .object(b)):
            let kind = String(path.prefix { $0 != "." })
            let a = a0.map { (k, v) in (path.hasPrefix(kind + ".entries[") && path.split(separator: ".").count == 2
                ? (Self.renamed[kind]?[k] ?? k) : k, v) }
            for (k, v) in a {
                let p = path + "." + k
                guard let w = b.first(where: { $0.0 == k })?.1 else {
                    onlyOurs.insert(p.replacingOccurrences(of: #"\[\d+\]"#, with: "[]", options: .regularExpression))
                    continue
                }
                compare(v, w, path: p, pretty: pretty, onlyOurs: &onlyOurs, mismatches: &mismatches)
            }
            for (k, _) in b where !a.contains(where: { $0.0 == k }) {
                mismatches.append("\(path).\(k): only in CRIU crit's output")
            }
        case let (.array(a), .array(b)):
            if a.count != b.count {
                mismatches.append("\(path): \(a.count) items vs \(b.count)")
                return
            }
            for (i, (x, y)) in zip(a, b).enumerated() {
                compare(x, y, path: "\(path)[\(i)]", pretty: pretty, onlyOurs: &onlyOurs, mismatches: &mismatches)
            }
        default:
            if ours != theirs { mismatches.append("\(path): ours \(ours.text) vs crit \(theirs.text)") }
        }
    }

    @Test(arguments: [false, true])
    func everyKindAgainstCRIUCrit(pretty: Bool) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.critPath) else {
            print("SKIP cross-check: \(Self.critPath) not installed (Debian package criu)")
            return
        }
        let dir = TempDir()
        var report: [String] = []
        var failures: [String] = []
        var encodedBack = 0
        for kind in Samples.modelledKinds {
            let file = dir.path + "/" + kind.fileName(1)
            let entries = try Samples.entries(kind)
            let w = try ImageWriter(path: file, kind: kind)
            for e in entries { try w.write(e) }
            try w.close()

            var ours = ""
            try ImageToJSON(pretty: pretty).convert(ImageReader(path: file)) { ours += $0 }
            let (out, err) = try Self.runCrit(["decode", "-i", file] + (pretty ? ["--pretty"] : []))
            guard let out else {
                let line = err.split(separator: "\n").last.map(String.init) ?? "?"
                report.append("\(kind.name): CRIU crit cannot decode it: \(line)")
                continue
            }
            var onlyOurs = Set<String>()
            var mismatches: [String] = []
            Self.compare(try JSONParser.parse(Array(ours.utf8)), try JSONParser.parse(out), path: kind.name,
                         pretty: pretty, onlyOurs: &onlyOurs, mismatches: &mismatches)
            if kind.name == "IPCNS_SHM" {
                // 3.17's crit reads a segment after every shm entry, even one whose
                // contents are in the pagemaps (in_pagemaps); CRIU itself does not.
                let known = mismatches.filter { $0.hasSuffix("extra: only in CRIU crit's output") }
                if !known.isEmpty { report.append("IPCNS_SHM: crit 3.17 expects inline data for in_pagemaps segments") }
                mismatches.removeAll { known.contains($0) }
            }
            // Where crit saw every field, its JSON must encode back to our exact bytes.
            if onlyOurs.isEmpty && mismatches.isEmpty && kind.name != "IPCNS_SHM" {
                let back = dir.path + "/back-" + kind.fileName(1)
                try JSONToImage().convert(json: out, to: back)
                let a = FileManager.default.contents(atPath: file), b = FileManager.default.contents(atPath: back)
                if a != b { failures.append("\(kind.name): crit's JSON (pretty: \(pretty)) does not encode back to the same bytes") }
                encodedBack += 1
            }
            if !onlyOurs.isEmpty {
                report.append("\(kind.name): fields (or enum values) Debian's crit does not know: \(onlyOurs.sorted().joined(separator: ", "))")
            }

            failures += mismatches
        }
        print("crit cross-check (pretty: \(pretty)): \(encodedBack) kinds re-encoded from crit's JSON byte for byte\n  "
            + report.joined(separator: "\n  "))
        #expect(failures.isEmpty, Comment(rawValue: "\(failures.count) differences:\n" + failures.prefix(40).joined(separator: "\n")))
    }
}
