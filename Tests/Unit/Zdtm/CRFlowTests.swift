import Foundation
import Glibc
import Testing
@testable import ZdtmCore

/// The runner's C/R path against stand-in criu binaries (shell scripts) that do what a criu does to the
/// outside world: record the command line, kill the dumped task, fail, or leave a helper behind.
/// The real test programs run; only criu is replaced.
@Suite(.serialized) struct CRFlowTests {
    static func fakeCriu(dump: String, restore: String = "echo 'restore: not implemented' >&2; exit 1",
                         check: String = "exit 1") throws -> (String, String) {
        let base = NSTemporaryDirectory() + "zdtm-fake-\(getpid())-\(UUID().uuidString)"
        let log = base + ".args"
        let script = """
        #!/bin/sh
        if [ "$2" = --help ]; then printf 'Usage:\\n  criu dump|pre-dump -t PID\\n  criu restore\\n  criu check\\n'; exit 0; fi
        echo "$@" >> \(log)
        pid=; dir=
        while [ $# -gt 0 ]; do case "$1" in -t) pid=$2; shift;; -D) dir=$2; shift;; esac; shift; done
        """
        // The command is the first word of the last recorded line.
        let full = script + """

        cmd=$(tail -n 1 \(log) | cut -d' ' -f1)
        case "$cmd" in
        check) \(check);;
        dump|pre-dump) \(dump);;
        restore) \(restore);;
        esac
        exit 1
        """
        try full.write(toFile: base, atomically: true, encoding: .utf8)
        chmod(base, 0o755)
        return (base, log)
    }

    func run(_ test: String, criu: String, mode: Mode, flags: Set<TestDesc.Flag> = []) throws -> Outcome {
        let catalog = try Catalog(zdtmDir: SmokeTests.zdtmDir)
        var t = try catalog.lookup(test)
        t.desc.flags.formUnion(flags)
        var cfg = RunConfig(packageRoot: SmokeTests.packageRoot, tests: [t])
        cfg.mode = mode
        cfg.criuBin = criu
        cfg.keepGoing = true
        cfg.keep = .never
        cfg.quiet = true
        cfg.outDir = NSTemporaryDirectory() + "zdtm-crflow-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: cfg.outDir!) }
        let s = try Suite(cfg, output: { _ in }).run()
        return try #require(s.outcomes.first)
    }

    @Test func norstDumpsWithCriuOptionsAndComparesProc() throws {
        let (criu, log) = try Self.fakeCriu(dump: "exit 0")
        defer { unlink(criu); unlink(log) }
        var m = Mode()
        m.norst = true
        m.iters = 2
        let o = try run("env00", criu: criu, mode: m)
        #expect(o.verdict == .pass, "\(o.reason)")
        let lines = (Proc.read(log) ?? "").split(separator: "\n").filter { $0.hasPrefix("dump") }
        #expect(lines.count == 2)
        let a = lines.first.map { $0.split(separator: " ").map(String.init) } ?? []
        #expect(a.starts(with: ["dump", "-t"]))
        #expect(a.contains("-D") && a.contains("--leave-running"))
        #expect(a.joined(separator: " ").contains("-o dump.log -v4"))
        #expect(o.dumpMs != nil && o.restoreMs == nil)
    }

    @Test func dumpThatKillsAndRestoreThatFailsIsAFailure() throws {
        let (criu, log) = try Self.fakeCriu(dump: "kill -9 $pid; exit 0")
        defer { unlink(criu); unlink(log) }
        let o = try run("env00", criu: criu, mode: Mode())
        #expect(o.verdict == .fail)
        #expect(o.reason == "criu restore failed (exit 1)", "\(o.reason)")
        let r = (Proc.read(log) ?? "").split(separator: "\n").first { $0.hasPrefix("restore") } ?? ""
        #expect(r.contains("-d --pidfile") && r.contains("-o restore.log"), "\(r)")
    }

    @Test func crfailTestSurvivesAFailedDump() throws {
        let (criu, log) = try Self.fakeCriu(dump: "echo 'dump: refused' >&2; exit 1")
        defer { unlink(criu); unlink(log) }
        let o = try run("env00", criu: criu, mode: Mode(), flags: [.crfail])
        #expect(o.verdict == .pass, "\(o.reason)")
        let bad = try run("env00", criu: criu, mode: Mode())
        #expect(bad.verdict == .fail && bad.reason == "criu dump failed (exit 1)", "\(bad.reason)")
    }

    @Test func preDumpsChainTheirImageDirs() throws {
        let (criu, log) = try Self.fakeCriu(dump: "exit 0", check: "exit 0")
        defer { unlink(criu); unlink(log) }
        var m = Mode()
        m.norst = true
        m.pre = 2
        let o = try run("env00", criu: criu, mode: m)
        #expect(o.verdict == .pass, "\(o.reason)")
        let lines = (Proc.read(log) ?? "").split(separator: "\n").map(String.init).filter { !$0.hasPrefix("check") }
        #expect(lines.count == 3)
        guard lines.count == 3 else { return }
        #expect(lines[0].hasPrefix("pre-dump -t") && lines[0].contains("/dump/1/pre0 ") && lines[0].contains("--track-mem"))
        #expect(!lines[0].contains("--prev-images-dir"))
        #expect(lines[1].hasPrefix("pre-dump -t") && lines[1].contains("/dump/1/pre1 ") && lines[1].contains("--prev-images-dir ../pre0"))
        #expect(lines[2].hasPrefix("dump -t") && lines[2].contains("--track-mem") && lines[2].contains("--prev-images-dir pre1"))
    }

    @Test func leftoverCriuProcessIsCaught() throws {
        let (criu, log) = try Self.fakeCriu(dump: "sleep 30 >/dev/null 2>&1 & exit 0")
        defer { unlink(criu); unlink(log) }
        var m = Mode()
        m.norst = true
        let o = try run("env00", criu: criu, mode: m)
        #expect(o.verdict == .fail)
        #expect(o.reason == "criu dump left a process behind", "\(o.reason)")
    }
}
