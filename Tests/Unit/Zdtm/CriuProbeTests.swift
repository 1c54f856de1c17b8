import Foundation
import Glibc
import Testing
@testable import ZdtmCore

/// The runner asks the criu binary what it can do; these binaries are small shell scripts that answer
/// like a criu with or without dump.
@Suite struct CriuProbeTests {
    static func script(_ body: String) throws -> String {
        let path = NSTemporaryDirectory() + "zdtm-fake-criu-\(getpid())-\(UUID().uuidString)"
        try ("#!/bin/sh\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    static let upstreamUsage = """
    Usage:
      criu dump|pre-dump -t PID [<options>]
      criu restore [<options>]
      criu check [--feature FEAT]
      criu page-server
    """

    @Test func usageLineNamesCommands() {
        #expect(CriuBinary.usageNames("dump", in: Self.upstreamUsage))
        #expect(CriuBinary.usageNames("pre-dump", in: Self.upstreamUsage))
        #expect(CriuBinary.usageNames("page-server", in: Self.upstreamUsage))
        #expect(!CriuBinary.usageNames("lazy-pages", in: Self.upstreamUsage))
        #expect(!CriuBinary.usageNames("dump", in: "OVERVIEW: Checkpoint/restore\n\nUSAGE: criu <subcommand>\n  check"))
        #expect(CriuBinary.usageNames("check", in: "USAGE: criu check [--feature <feature>]"))
    }

    @Test func binaryWithoutDumpMakesTestsSkip() throws {
        Proc.becomeSubreaper()
        // Like our criu today: general usage for anything, only check exists.
        let p = try Self.script("""
        if [ "$1" = check ] && [ "$2" = --help ]; then echo 'USAGE: criu check [--feature <f>]'; exit 0; fi
        if [ "$1" = check ] && [ "$2" = --feature ]; then [ "$3" = have ]; exit $?; fi
        echo 'USAGE: criu <subcommand>'; exit 0
        """)
        defer { unlink(p) }
        let criu = CriuBinary(path: p)
        var d = TestDesc()
        d.features = ["have"]
        let t = TestCase(name: "static/x", source: "", desc: d)
        #expect(criu.missing(for: t, mode: Mode()) == "criu has no dump command")
        #expect(criu.has(feature: "have"))
        #expect(!criu.has(feature: "nope"))
    }

    @Test func missingFeatureAndModeNeeds() throws {
        let p = try Self.script("""
        if [ "$2" = --help ]; then echo "Usage:"; echo "  criu dump|pre-dump -t PID"; echo "  criu restore"; echo "  criu check"; exit 0; fi
        if [ "$1" = check ] && [ "$2" = --feature ]; then [ "$3" = have ]; exit $?; fi
        exit 1
        """)
        defer { unlink(p) }
        let criu = CriuBinary(path: p)
        var d = TestDesc()
        d.features = ["have", "nope"]
        #expect(criu.missing(for: TestCase(name: "static/x", source: "", desc: d), mode: Mode()) == "criu feature nope missing")
        d.features = ["have"]
        let t = TestCase(name: "static/x", source: "", desc: d)
        #expect(criu.missing(for: t, mode: Mode()) == nil)
        var lazy = Mode()
        lazy.lazyPages = true
        #expect(criu.missing(for: t, mode: lazy) == "criu has no lazy-pages command")
        var pre = Mode()
        pre.pre = 2
        #expect(criu.missing(for: t, mode: pre) == "criu feature mem_dirty_track missing")
    }
}
