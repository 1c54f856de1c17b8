import Foundation

/// Live lines, the summary table, failure details and the JUnit/summary files.
public enum Report {
    static func ms(_ v: Int?) -> String { v.map { String(format: "%6d ms", $0) } ?? "       -" }

    public static func liveLine(_ o: Outcome, index: Int, total: Int, nocr: Bool) -> String {
        let w = String(total).count
        let idx = String(repeating: " ", count: w - String(index).count) + String(index)
        var line = "[\(idx)/\(total)] " + o.test.padding(toLength: 28, withPad: " ", startingAt: 0)
            + " " + o.flavor.rawValue.padding(toLength: 3, withPad: " ", startingAt: 0)
            + "  dump \(ms(o.dumpMs))  restore \(ms(o.restoreMs))  " + o.verdict.rawValue
        if !o.reason.isEmpty { line += "  (\(o.reason))" }
        return line
    }

    public static func reproduce(_ o: Outcome, cfg: RunConfig) -> String {
        var a = ["zdtm", "run", "-t", o.test, "-f", o.flavor.rawValue] + cfg.mode.cliArgs
        if let c = cfg.criuBin, !cfg.mode.nocr { a += ["--criu-bin", c] }
        return a.joined(separator: " ")
    }

    static func tail(_ path: String, lines: Int) -> [String] {
        guard let text = Proc.read(path), !text.isEmpty else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1).map(String.init)
            .filter { !$0.isEmpty }.suffix(lines).map { $0 }
    }

    public static func printSummary(_ s: RunSummary, cfg: RunConfig, out: (String) -> Void) {
        out("")
        out("summary (\(cfg.mode.nocr ? "--nocr" : "criu " + (cfg.criuBin ?? "?"))):")
        out("  " + "test".padding(toLength: 28, withPad: " ", startingAt: 0) + " " + "flv" + "  "
            + "dump ms".padding(toLength: 9, withPad: " ", startingAt: 0) + "restore ms".padding(toLength: 11, withPad: " ", startingAt: 0) + "result")
        for o in s.outcomes.sorted(by: { ($0.test, $0.flavor) < ($1.test, $1.flavor) }) {
            out("  " + o.test.padding(toLength: 28, withPad: " ", startingAt: 0) + " "
                + o.flavor.rawValue.padding(toLength: 3, withPad: " ", startingAt: 0) + "  "
                + (o.dumpMs.map(String.init) ?? "-").padding(toLength: 9, withPad: " ", startingAt: 0)
                + (o.restoreMs.map(String.init) ?? "-").padding(toLength: 11, withPad: " ", startingAt: 0)
                + o.verdict.rawValue + (o.reason.isEmpty ? "" : ": " + o.reason))
        }
        // The last line keeps the plain "N passed, N failed, N skipped" form CI tools read.
        let totals = "\(s.passed) passed, \(s.failed) failed, \(s.skipped) skipped"
        let notes = Set(s.outcomes.flatMap(\.notes)).sorted()
        for n in notes { out("note: \(n)") }
        for o in s.outcomes where o.verdict == .fail {
            out("")
            out("FAIL \(o.test) (\(o.flavor.rawValue)): \(o.reason)")
            out("  reproduce: \(reproduce(o, cfg: cfg))")
            if cfg.keep != .never { out("  work dir:  \(o.workDir)") }
            for log in o.logs {
                let t = tail(log, lines: 8)
                if t.isEmpty { continue }
                out("  --- tail of \(log)")
                t.forEach { out("    " + $0) }
            }
        }
        out("")
        if s.notRun > 0 { out("\(s.notRun) not run: stopped at the first failure (use --keep-going)") }
        out(totals)
    }

    static func xml(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public static func junit(_ s: RunSummary) -> String {
        let time = s.outcomes.reduce(0) { $0 + $1.seconds }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites>\n<testsuite name=\"zdtm\" tests=\"\(s.outcomes.count)\" failures=\"\(s.failed)\" skipped=\"\(s.skipped)\" time=\"\(String(format: "%.3f", time))\">\n"
        for o in s.outcomes {
            x += "  <testcase classname=\"zdtm.\(o.flavor.rawValue)\" name=\"\(xml(o.test))\" time=\"\(String(format: "%.3f", o.seconds))\""
            switch o.verdict {
            case .pass: x += "/>\n"
            case .skip: x += ">\n    <skipped message=\"\(xml(o.reason))\"/>\n  </testcase>\n"
            case .fail:
                x += ">\n    <failure message=\"\(xml(o.reason))\">\(xml(o.logs.flatMap { tail($0, lines: 20) }.joined(separator: "\n")))</failure>\n  </testcase>\n"
            }
        }
        x += "</testsuite>\n</testsuites>\n"
        return x
    }

    public static func write(_ s: RunSummary, cfg: RunConfig, dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try junit(s).write(toFile: "\(dir)/junit.xml", atomically: true, encoding: .utf8)
        var lines: [String] = []
        printSummary(s, cfg: cfg) { lines.append($0) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dir)/summary.txt", atomically: true, encoding: .utf8)
    }
}
