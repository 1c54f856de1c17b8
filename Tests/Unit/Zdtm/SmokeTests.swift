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

/// excl tests run alone even with -p 2: no other test's run overlaps theirs.
@Suite(.serialized) struct SchedulingTests {
    @Test func exclusiveTestRunsAlone() throws {
        let catalog = try Catalog(zdtmDir: SmokeTests.zdtmDir)
        var tests = try Selection(names: ["env00", "pipe00", "sleeping00", "umask00", "cwd00"]).resolve(catalog)
        tests[2].desc.flags.insert(.excl)
        var cfg = RunConfig(packageRoot: SmokeTests.packageRoot, tests: tests)
        cfg.flavors = [.h]
        cfg.mode.nocr = true
        cfg.parallel = 2
        cfg.quiet = true
        cfg.outDir = NSTemporaryDirectory() + "zdtm-sched-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: cfg.outDir!) }
        let s = try Suite(cfg, output: { _ in }).run()
        #expect(s.passed == 5)
        let excl = try #require(s.outcomes.first { $0.test == "static/sleeping00" })
        let exclEnd = excl.started.addingTimeInterval(excl.seconds)
        for o in s.outcomes where o.test != excl.test {
            let end = o.started.addingTimeInterval(o.seconds)
            #expect(end <= excl.started || o.started >= exclEnd, "\(o.test) overlaps the excl test")
        }
    }
}
