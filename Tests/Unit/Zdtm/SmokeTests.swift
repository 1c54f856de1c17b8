import Foundation
import Testing
@testable import ZdtmCore

/// The harness checks itself: real test programs, built with cc and run with --nocr.
@Suite(.serialized) struct SmokeTests {
    static let packageRoot: String = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { u.deleteLastPathComponent() }
        return u.path
    }()
    static let zdtmDir = packageRoot + "/Tests/zdtm"

    func run(_ names: [String], flavors: [Flavor] = [.h]) throws -> RunSummary {
        let catalog = try Catalog(zdtmDir: Self.zdtmDir)
        var cfg = RunConfig(packageRoot: Self.packageRoot, tests: try Selection(names: names).resolve(catalog))
        cfg.flavors = flavors
        cfg.mode.nocr = true
        cfg.keepGoing = true
        cfg.parallel = 2
        cfg.quiet = true
        cfg.outDir = NSTemporaryDirectory() + "zdtm-smoke-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: cfg.outDir!) }
        return try Suite(cfg, output: { _ in }).run()
    }

    @Test func passingTestsPass() throws {
        let s = try run(["env00", "pipe00", "sigpending00"], flavors: [.h, .ns])
        #expect(s.outcomes.count == 6)
        #expect(s.outcomes.allSatisfy { $0.verdict == .pass }, "\(s.outcomes.map { "\($0.test) \($0.flavor): \($0.reason)" })")
    }

    @Test func brokenTestFailsWithItsReason() throws {
        let s = try run(["broken00"])
        let o = try #require(s.outcomes.first)
        #expect(o.verdict == .fail)
        #expect(o.reason.contains("static/broken00.c:11: deliberately broken"), "\(o.reason)")
    }

    @Test func plantedProcDifferenceIsCaught() throws {
        let s = try run(["plant00"])
        let o = try #require(s.outcomes.first)
        #expect(o.verdict == .fail)
        #expect(o.reason.contains("fd 200: (none) -> /dev/null"), "\(o.reason)")
        #expect(o.reason.contains("vma new"), "\(o.reason)")
    }
}
