import Foundation
import Glibc

public enum Verdict: String, Sendable {
    case pass = "PASS", fail = "FAIL", skip = "SKIP"
}

public struct Outcome: Sendable {
    public var test: String
    public var flavor: Flavor
    public var verdict: Verdict
    public var reason: String = ""
    public var dumpMs: Int?
    public var restoreMs: Int?
    public var started = Date()
    public var seconds: Double = 0
    public var workDir: String
    public var logs: [String] = []
    public var notes: [String] = []
}

/// The uid/gid the test library drops to (see zdtmtst.h), and where uns maps them on the host.
let zdtmUid: UInt32 = 18943
let zdtmGid: UInt32 = 58467
let usernsBase: UInt32 = 100000

/// Runs one test in one flavor: start, C/R cycle(s) with the /proc checks, stop, verdict.
struct TestRun {
    var test: TestCase
    var flavor: Flavor
    var mode: Mode
    var binary: String
    var nsLauncher: String
    var workDir: String
    var criu: CriuBinary?
    var crit: String?
    var slot: Int

    var outfile: String { "\(workDir)/test.out" }
    var timeout: Double { Double(test.desc.timeout) }

    func fail(_ o: inout Outcome, _ why: String) -> Outcome {
        o.verdict = .fail
        o.reason = o.reason.isEmpty ? why : o.reason
        return o
    }

    func lastLine(_ path: String) -> String {
        (Proc.read(path) ?? "").split(separator: "\n").last.map(String.init) ?? ""
    }

    func run() -> Outcome {
        let started = Date()
        var o = Outcome(test: test.name, flavor: flavor, verdict: .pass, workDir: workDir)
        o.logs = [outfile, "\(workDir)/start.log"]
        let r = body(&o)
        var result = r
        result.started = started
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    func body(_ o: inout Outcome) -> Outcome {
        if mode.norst && test.desc.flags.contains(.reqrst) {
            o.verdict = .skip
            o.reason = "the test needs a restore (reqrst) and --norst was given"
            return o
        }
        if !mode.nocr, let criu, let why = criu.missing(for: test, mode: mode, flavor: flavor) {
            o.verdict = .skip
            o.reason = why
            return o
        }
        do {
            try prepareWorkDir()
        } catch {
            return fail(&o, "work dir: \(error)")
        }
        // Start: the starter (or the ns launcher) returns once the test is ready.
        let suid = test.desc.flags.contains(.suid)
        var argv = [binary, "--pidfile=\(workDir)/test.pid", "--outfile=\(outfile)",
                    "--filename=\(workDir)/test.file", "--dirname=\(workDir)/test.dir"]
        if !suid { argv += ["--uid=\(zdtmUid)", "--gid=\(zdtmGid)"] }
        if flavor != .h {
            argv = [nsLauncher] + (flavor == .uns ? ["--user"] : []) + ["--pidfile=\(workDir)/root.pid", "--"] + argv
        }
        let starter: pid_t
        do {
            starter = try Proc.spawn(argv, log: "\(workDir)/start.log")
        } catch {
            return fail(&o, "can't start: \(error)")
        }
        let sx = Proc.wait(starter, timeout: timeout)
        if sx == .timeout {
            Proc.killTree(starter)
            kill(-starter, SIGKILL)
            _ = Proc.wait(starter, timeout: 5)
            return fail(&o, "the test did not become ready in \(test.desc.timeout) s")
        }
        let last = lastLine(outfile)
        if !sx.ok {
            if last.hasPrefix("SKIP:") {
                o.verdict = .skip
                o.reason = String(last.dropFirst(5)).trimmingCharacters(in: .whitespaces)
                return o
            }
            if last.hasPrefix("FAIL:") { return fail(&o, String(last.dropFirst(5)).trimmingCharacters(in: .whitespaces)) }
            let why = lastLine("\(workDir)/start.log")
            return fail(&o, "the test did not become ready (starter \(sx))" + (why.isEmpty ? "" : ": \(why)"))
        }
        guard var root = readPid(flavor == .h ? "test.pid" : "root.pid") else {
            return fail(&o, "no pid in the pidfile after ready")
        }
        ActiveTests.shared.set(slot, root)
        defer {
            cleanup(root)
            ActiveTests.shared.set(slot, nil)
        }

        let isStatic = test.isStatic
        let ns = flavor != .h
        var before = ProcState.snapshot(root: root, withMounts: ns)
        if mode.nocr {
            // Transition tests get a moment to actually churn, as they would while a dump runs.
            let pause = max(test.desc.pause, isStatic ? 0 : 200)
            if pause > 0 { usleep(UInt32(pause) * 1000) }
            let after = ProcState.snapshot(root: root, withMounts: ns)
            if isStatic {
                let d = ProcState.diff(before: before, after: after)
                if !d.isEmpty { _ = fail(&o, "/proc changed across the C/R point: " + summarize(d, &o)) }
            }
        } else {
            for iter in 1...max(1, mode.iters) {
                guard let newRoot = crCycle(&o, root: root, iter: iter) else { break }
                root = newRoot
                ActiveTests.shared.set(slot, root)
                guard o.verdict == .pass else { break }
                let after = ProcState.snapshot(root: root, withMounts: ns)
                if isStatic {
                    let d = ProcState.diff(before: before, after: after)
                    if !d.isEmpty {
                        _ = fail(&o, "/proc differs after \(test.desc.flags.contains(.crfail) ? "the failed dump" : mode.norst ? "the dump" : "restore"): " + summarize(d, &o))
                        break
                    }
                }
                before = after
            }
        }
        // End: SIGTERM to the test, then its verdict.
        let testPid = findTestPid(root: root)
        if let testPid { kill(testPid, SIGTERM) }
        if !Proc.waitGone(root, timeout: timeout) {
            Proc.killTree(root)
            _ = Proc.waitGone(root, timeout: 5)
            return fail(&o, "the test did not finish within \(test.desc.timeout) s after SIGTERM")
        }
        let verdict = lastLine(outfile)
        if verdict == "PASS" { return o }
        if verdict.hasPrefix("FAIL:") { o.reason = ""; return fail(&o, String(verdict.dropFirst(5)).trimmingCharacters(in: .whitespaces)) }
        return fail(&o, verdict.isEmpty ? "the test wrote no verdict" : "no verdict, last line: \(verdict)")
    }

    /// The first differences for the verdict line; all of them go to proc-diff.txt in the work dir.
    func summarize(_ diffs: [String], _ o: inout Outcome) -> String {
        let path = "\(workDir)/proc-diff.txt"
        try? (diffs.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        o.logs.append(path)
        let head = diffs.prefix(6).joined(separator: "; ")
        return diffs.count > 6 ? head + "; ... (\(diffs.count) differences, see proc-diff.txt)" : head
    }

    func readPid(_ file: String) -> pid_t? {
        (Proc.read("\(workDir)/\(file)") ?? "").trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").first.flatMap { pid_t($0) }
    }

    /// In ns flavors the test's pidfile holds its pid inside the namespace; find the host pid.
    func findTestPid(root: pid_t) -> pid_t? {
        guard flavor != .h else { return root }
        guard let inner = readPid("test.pid") else { return nil }
        return Proc.tree(root).first { Proc.nsPid($0) == inner }
    }

    func prepareWorkDir() throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: workDir)
        try fm.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let shift: UInt32 = flavor == .uns ? usernsBase : 0
        let suid = test.desc.flags.contains(.suid)
        guard chown(workDir, (suid ? 0 : zdtmUid) + shift, (suid ? 0 : zdtmGid) + shift) == 0, chmod(workDir, 0o755) == 0 else {
            throw ZdtmError.io(path: workDir, op: "chown", errno: errno)
        }
    }

    func cleanup(_ root: pid_t) {
        if Proc.exists(root) {
            Proc.killTree(root)
            _ = Proc.waitGone(root, timeout: 5)
        }
        Proc.reapStrays()
    }
}
