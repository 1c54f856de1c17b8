import Testing
import Foundation

/// Runs the built `criu` binary, as users and scripts do.
func runCriu(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    var dir = URL(fileURLWithPath: #filePath)
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
        dir = dir.deletingLastPathComponent()
    }
    let candidates = [".build/debug/criu", ".build/release/criu"].map { dir.appendingPathComponent($0) }
    guard let bin = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CocoaError(.fileNoSuchFile)
    }
    let p = Process()
    p.executableURL = bin
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite struct CheckCommandTests {
    @Test func versionMatchesCriuFormat() throws {
        for flag in ["-V", "--version"] {
            let r = try runCriu([flag])
            #expect(r.status == 0)
            #expect(r.out.hasPrefix("Version: "))
        }
    }

    @Test func checkLooksGoodHere() throws {
        let r = try runCriu(["check"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.hasSuffix("Looks good.\n"))
    }

    @Test func checkAllListsEveryFeature() throws {
        let list = try runCriu(["check", "--feature", "list"])
        let names = list.out.split(separator: "\n")
        #expect(names.contains("pidfd_store") && names.contains("mem_dirty_track") && names.contains("get_rseq_conf"))
        let all = try runCriu(["check", "--all"])
        for n in names { #expect(all.out.contains("\(n) "), "missing \(n)") }
    }

    @Test func featureExitStatusFollowsPresence() throws {
        #expect(try runCriu(["check", "--feature", "pagemap_scan"]).status == 0)
        let sd = try runCriu(["check", "--feature", "soft_dirty"])
        // soft-dirty is compiled out on this project's kernels
        #expect(sd.status == 1 && sd.err.hasPrefix("Error: "))
    }

    @Test func badInputGetsOneLineAndExitOne() throws {
        for args in [["check", "--feature", "bogus"], ["check", "--bogus"], ["bogus"]] {
            let r = try runCriu(args)
            #expect(r.status == 1, "\(args)")
            #expect(r.err.hasPrefix("Error: ") && r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
        }
    }
}
