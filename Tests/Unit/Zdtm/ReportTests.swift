import Testing
@testable import ZdtmCore

@Suite struct ReportTests {
    let outcomes = [
        Outcome(test: "static/a", flavor: .h, verdict: .pass, dumpMs: 12, restoreMs: 30, workDir: "/w/a"),
        Outcome(test: "static/b", flavor: .ns, verdict: .fail, reason: "x < y & \"z\"", workDir: "/w/b"),
        Outcome(test: "static/c", flavor: .h, verdict: .skip, reason: "criu has no dump command", workDir: "/w/c"),
    ]

    @Test func junitCountsAndEscapes() {
        let x = Report.junit(RunSummary(outcomes: outcomes, notRun: 0))
        #expect(x.contains(#"tests="3" failures="1" skipped="1""#))
        #expect(x.contains(#"<testcase classname="zdtm.ns" name="static/b""#))
        #expect(x.contains(#"<failure message="x &lt; y &amp; &quot;z&quot;">"#))
        #expect(x.contains(#"<skipped message="criu has no dump command"/>"#))
    }

    @Test func liveLineAndReproduce() {
        let line = Report.liveLine(outcomes[0], index: 1, total: 12, nocr: false)
        #expect(line.hasPrefix("[ 1/12] static/a"))
        #expect(line.contains("dump     12 ms  restore     30 ms  PASS"))
        var cfg = RunConfig(packageRoot: "/p", tests: [])
        cfg.mode.norst = true
        cfg.mode.iters = 3
        cfg.criuBin = "/usr/sbin/criu"
        #expect(Report.reproduce(outcomes[1], cfg: cfg) == "zdtm run -t static/b -f ns --norst --iters 3 --criu-bin /usr/sbin/criu")
    }

    @Test func summaryEndsWithThePlainTotalsLine() {
        var lines: [String] = []
        Report.printSummary(RunSummary(outcomes: outcomes, notRun: 2), cfg: RunConfig(packageRoot: "/p", tests: [])) { lines.append($0) }
        #expect(lines.last == "1 passed, 1 failed, 1 skipped")
        #expect(lines.contains("FAIL static/b (ns): x < y & \"z\""))
        #expect(lines.contains { $0.contains("2 not run") })
    }
}
