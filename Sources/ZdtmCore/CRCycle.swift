import Foundation
import Glibc

extension TestRun {
    /// Runs one criu command, in its own process group; checks nothing of it is left behind.
    func criuCmd(_ o: inout Outcome, _ args: [String], log: String, env: [String: String] = [:]) -> (Proc.Exit, Int) {
        guard let criu else { return (.code(1), 0) }
        let t0 = Date()
        var ex: Proc.Exit = .code(1)
        do {
            let pid = try Proc.spawn([criu.path] + args, log: "\(workDir)/criu-output.log", env: env)
            ex = Proc.wait(pid, timeout: timeout * 4)
            if ex == .timeout { kill(-pid, SIGKILL); _ = Proc.wait(pid, timeout: 5) }
            // Anything still in criu's process group is a leftover criu helper.
            usleep(10000)
            if kill(-pid, 0) == 0 {
                kill(-pid, SIGKILL)
                o.notes.append("a criu process was left after `criu \(args[0])`")
                if o.verdict == .pass { o.verdict = .fail; o.reason = "criu \(args[0]) left a process behind" }
            }
        } catch {
            o.notes.append("can't run criu: \(error)")
        }
        if !o.logs.contains(log) { o.logs.append(log) }
        return (ex, Int(Date().timeIntervalSince(t0) * 1000))
    }

    var faultEnv: [String: String] { mode.fault.map { ["CRIU_FAULT": String($0)] } ?? [:] }

    /// One dump (with pre-dumps) and restore. Returns the root pid to continue with, or nil when the
    /// cycle ended the run (failure, or crfail's expected dump failure).
    func crCycle(_ o: inout Outcome, root: pid_t, iter: Int) -> pid_t? {
        let dir = "\(workDir)/dump/\(iter)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var prev: String?
        // Pre-dumps (or full dumps with --leave-running for --snaps) first.
        for i in 0..<mode.pre {
            let pdir = "\(dir)/pre\(i)"
            try? FileManager.default.createDirectory(atPath: pdir, withIntermediateDirectories: true)
            var a = [mode.snaps ? "dump" : "pre-dump", "-t", String(root), "-D", pdir, "-o", "pre-dump.log", "-v4", "--track-mem"]
            if mode.snaps { a.append("--leave-running") }
            if let prev { a += ["--prev-images-dir", "../" + (prev as NSString).lastPathComponent] }
            a += test.desc.opts
            let (ex, _) = criuCmd(&o, a, log: "\(pdir)/pre-dump.log", env: faultEnv)
            if !ex.ok { _ = fail(&o, "criu pre-dump \(i + 1) failed (\(ex))"); return nil }
            prev = pdir
        }
        var pageServer: pid_t?
        let port = 27000 + slot
        if mode.pageServer {
            pageServer = try? Proc.spawn([criu!.path, "page-server", "-D", dir, "--address", "127.0.0.1", "--port", String(port),
                                          "-o", "page-server.log", "-v4"], log: "\(workDir)/criu-output.log")
            usleep(200000)
            o.logs.append("\(dir)/page-server.log")
        }
        var a = ["dump", "-t", String(root), "-D", dir, "-o", "dump.log", "-v4"]
        if mode.norst || test.desc.flags.contains(.crfail) { a.append("--leave-running") }
        if mode.pre > 0 || mode.snaps { a.append("--track-mem") }
        if let prev { a += ["--prev-images-dir", (prev as NSString).lastPathComponent] }
        if mode.pageServer { a += ["--page-server", "--address", "127.0.0.1", "--port", String(port)] }
        a += test.desc.opts
        if let f = mode.fault, f < 100 {
            return faultedDump(&o, root: root, args: a, dir: dir, fault: f)
        }
        let (dx, dms) = criuCmd(&o, a, log: "\(dir)/dump.log")
        o.dumpMs = (o.dumpMs ?? 0) + dms
        if let ps = pageServer, Proc.wait(ps, timeout: 10) == .timeout {
            kill(-ps, SIGKILL)
            _ = Proc.wait(ps, timeout: 5)
            o.notes.append("the page server did not exit after the dump")
        }

        if test.desc.flags.contains(.crfail) {
            // The dump must fail cleanly: the test goes on as if nothing happened, which the caller
            // checks by comparing /proc as after a restore.
            if dx.ok { _ = fail(&o, "crfail test: criu dump succeeded but must fail"); return nil }
            if !Proc.exists(root) { _ = fail(&o, "crfail test: the failed dump killed the test"); return nil }
            return root
        }
        if !dx.ok { _ = fail(&o, "criu dump failed (\(dx))"); return nil }
        checkImages(&o, dir: dir)
        if mode.norst { return root }

        if !Proc.waitGone(root, timeout: 10) { _ = fail(&o, "pid \(root) still exists after dump"); return nil }
        // The dumped tree's other tasks die as zombies adopted by us (the subreaper): reap them, or their
        // pids stay taken for the restore.
        Proc.reapStrays()
        var lazy: pid_t?
        if mode.lazyPages {
            // Local lazy pages: the daemon serves the dumped pages from the image dir to the restore.
            lazy = try? Proc.spawn([criu!.path, "lazy-pages", "-D", dir, "-o", "lazy-pages.log", "-v4"],
                                   log: "\(workDir)/criu-output.log")
            o.logs.append("\(dir)/lazy-pages.log")
        }
        var r = ["restore", "-D", dir, "-d", "--pidfile", "\(dir)/restore.pid", "-o", "restore.log", "-v4"]
        if mode.sibling { r.append("--restore-sibling") }
        if mode.stop { r.append("--leave-stopped") }
        if mode.lazyPages { r.append("--lazy-pages") }
        r += test.desc.opts
        if let f = mode.fault, f >= 100 {
            guard faultedRestore(&o, root: root, args: r, dir: dir, fault: f) else { return nil }
        }
        let (rx, rms) = criuCmd(&o, r, log: "\(dir)/restore.log")
        o.restoreMs = (o.restoreMs ?? 0) + rms
        if let lazy, Proc.wait(lazy, timeout: 30) == .timeout {
            kill(-lazy, SIGKILL)
            _ = Proc.wait(lazy, timeout: 5)
            o.notes.append("the lazy-pages daemon did not exit after the restore")
        }
        if !rx.ok { _ = fail(&o, "criu restore failed (\(rx))"); return nil }
        guard let newRoot = (Proc.read("\(dir)/restore.pid") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: "\n").first.flatMap({ pid_t($0) }) else {
            _ = fail(&o, "criu restore wrote no pid to --pidfile"); return nil
        }
        if mode.stop {
            let state = (Proc.read("/proc/\(newRoot)/stat") ?? "").split(separator: ")").last?.dropFirst().first
            if state != "T" { _ = fail(&o, "--leave-stopped: restored task is not stopped (state \(state.map(String.init) ?? "?"))") }
            for p in Proc.tree(newRoot) { kill(p, SIGCONT) }
        }
        return newRoot
    }

    /// Images decode with our crit; stats-dump's page count matches the pages files.
    func checkImages(_ o: inout Outcome, dir: String) {
        guard let crit else {
            if !o.notes.contains(where: { $0.hasPrefix("crit") }) { o.notes.append("crit not found: image decode check skipped") }
            return
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        for f in files where f.hasSuffix(".img") && !f.hasPrefix("pages-") {
            if let (ex, out) = try? Proc.run([crit, "decode", "-i", "\(dir)/\(f)", "-o", "/dev/null"], timeout: 60), !ex.ok {
                _ = fail(&o, "crit can't decode \(f): \(out.split(separator: "\n").last ?? "")")
                return
            }
        }
        guard files.contains("stats-dump"), mode.pre == 0, !mode.pageServer, !mode.lazyPages else { return }
        guard let (ex, json) = try? Proc.run([crit, "decode", "-i", "\(dir)/stats-dump"], timeout: 60), ex.ok,
              let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let entries = obj["entries"] as? [[String: Any]], let dump = entries.first?["dump"] as? [String: Any],
              let written = (dump["pages_written"] as? Int) ?? Int(dump["pages_written"] as? String ?? "") else {
            o.notes.append("stats-dump not decodable: page count check skipped")
            return
        }
        var bytes = 0
        for f in files where f.hasPrefix("pages-") {
            bytes += (try? FileManager.default.attributesOfItem(atPath: "\(dir)/\(f)")[.size] as? Int) ?? 0
        }
        if bytes / 4096 != written {
            _ = fail(&o, "stats-dump says \(written) pages written, pages files hold \(bytes / 4096)")
        }
    }
}
