import Foundation
import Glibc

/// `--fault N`: criu runs with CRIU_FAULT=N, which makes its step N fail (Sources/Engine/Faults.swift).
/// Dump steps (N < 100) must leave the test running, untraced and unchanged with no image left: the run goes
/// on with the same task and the usual before/after /proc comparison shows it is unchanged. Restore steps
/// (N >= 100) must leave no process and no new file; the run then restores again without the fault and goes on.
/// Steps 11-15 make criu SIGKILL itself while its code is inside the task: nothing of criu's own cleanup
/// runs, and the task must still come back unchanged by itself (Compel's Lifeline.swift).
extension TestRun {
    /// Files in the images directory that are not logs.
    func imageFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasSuffix(".log") }.sorted()
    }

    /// Tasks of the tree still traced or left in a ptrace stop, one line each.
    func tracedTasks(_ root: pid_t) -> [String] {
        var out: [String] = []
        for p in Proc.tree(root) {
            for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p)/task")) ?? [] {
                let status = Proc.read("/proc/\(p)/task/\(tid)/status") ?? ""
                let field = { (name: String) in
                    status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                        .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) } ?? "?"
                }
                if field("TracerPid") != "0" { out.append("thread \(tid) is traced by \(field("TracerPid"))") }
                if field("State").hasPrefix("t") { out.append("thread \(tid) is in a ptrace stop") }
            }
        }
        return out
    }

    func faultedDump(_ o: inout Outcome, root: pid_t, args: [String], dir: String, fault: Int) -> pid_t? {
        let (dx, dms) = criuCmd(&o, args, log: "\(dir)/dump.log", env: faultEnv)
        o.dumpMs = (o.dumpMs ?? 0) + dms
        if dx.ok { _ = fail(&o, "CRIU_FAULT=\(fault): criu dump succeeded but must fail"); return nil }
        if !(Proc.read("\(dir)/dump.log") ?? "").contains("CRIU_FAULT=\(fault)") {
            o.notes.append("CRIU_FAULT=\(fault): the dump failed, but not at the injected fault (see dump.log)")
        }
        if !Proc.exists(root) { _ = fail(&o, "CRIU_FAULT=\(fault): the failed dump killed the test"); return nil }
        let traced = tracedTasks(root)
        if !traced.isEmpty { _ = fail(&o, "CRIU_FAULT=\(fault): after the failed dump " + traced.joined(separator: "; ")); return nil }
        let left = imageFiles(dir)
        if !left.isEmpty { _ = fail(&o, "CRIU_FAULT=\(fault): the failed dump left \(left.joined(separator: ", "))"); return nil }
        return root
    }

    /// Runs the restore with the fault; true when it failed cleanly and the normal restore may follow.
    func faultedRestore(_ o: inout Outcome, root: pid_t, args: [String], dir: String, fault: Int) -> Bool {
        let before = Set(imageFiles(dir))
        let tmpBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [])
        let fargs = args.map { $0 == "restore.log" ? "restore-fault.log" : $0 }
        let (rx, rms) = criuCmd(&o, fargs, log: "\(dir)/restore-fault.log", env: faultEnv)
        o.restoreMs = (o.restoreMs ?? 0) + rms
        if rx.ok {
            if let p = (Proc.read("\(dir)/restore.pid") ?? "").split(separator: "\n").first.flatMap({ pid_t($0) }) {
                Proc.killTree(p)
                _ = Proc.waitGone(p, timeout: 5)
            }
            _ = fail(&o, "CRIU_FAULT=\(fault): criu restore succeeded but must fail")
            return false
        }
        // The restore forks at the dumped pid (the root in flavor h, the ns launcher's child otherwise).
        if flavor == .h, Proc.exists(root) {
            _ = fail(&o, "CRIU_FAULT=\(fault): pid \(root) still exists after the failed restore")
            Proc.killTree(root)
            _ = Proc.waitGone(root, timeout: 5)
            return false
        }
        let new = Set(imageFiles(dir)).subtracting(before).subtracting(["restore.pid"])
        if !new.isEmpty { _ = fail(&o, "CRIU_FAULT=\(fault): the failed restore left \(new.sorted().joined(separator: ", "))"); return false }
        let tmpNew = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).subtracting(tmpBefore)
        if !tmpNew.isEmpty { o.notes.append("new in /tmp during the failed restore (maybe another run's): \(tmpNew.sorted().prefix(5))") }
        unlink("\(dir)/restore.pid")
        return true
    }
}
