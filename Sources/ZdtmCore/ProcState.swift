import Foundation
import Glibc

/// What /proc shows of one task, in the terms a correct restore must reproduce.
public struct TaskState: Equatable, Sendable {
    public var key: pid_t               // pid inside the task's own pid namespace
    public var parentKey: pid_t?
    public var pgidKey: String
    public var sidKey: String
    public var fds: [Int: String] = [:]
    public var maps: [VMA] = []
    public var status: [String: String] = [:]
    public var threads: [pid_t: [String: String]] = [:]
    public var cwd = ""
    public var root = ""
    public var mounts: [String] = []
}

public enum ProcState {
    static let statusFields = ["Name", "Umask", "Uid", "Gid", "Groups", "SigPnd", "ShdPnd", "SigBlk", "SigIgn",
                               "SigCgt", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
                               "Seccomp", "Threads"]
    static let threadFields = ["SigPnd", "SigBlk"]

    /// Pipes, sockets and other anonymous objects get new inode numbers on restore: compare the kind.
    public static func normalizeFdTarget(_ t: String) -> String {
        for kind in ["pipe:", "socket:", "anon_inode:inotify", "net:", "mnt:"] where t.hasPrefix(kind) {
            return String(kind.dropLast(kind.hasSuffix(":") ? 1 : 0))
        }
        return t
    }

    static func statusMap(_ text: String, fields: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let c = line.firstIndex(of: ":") else { continue }
            let k = String(line[..<c])
            if fields.contains(k) { out[k] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    /// Mount table without the ids that differ between two mounts of the same thing.
    static func mounts(_ text: String) -> [String] {
        text.split(separator: "\n").map { line in
            let f = line.split(separator: " ")
            guard f.count > 6 else { return String(line) }
            return f[3...].filter { !$0.hasPrefix("shared:") && !$0.hasPrefix("master:") }.joined(separator: " ")
        }.sorted()
    }

    /// The whole tree under root, keyed by namespace pid.
    public static func snapshot(root: pid_t, withMounts: Bool) -> [pid_t: TaskState] {
        let pids = Proc.tree(root)
        var keyOf: [pid_t: pid_t] = [:]
        for p in pids { keyOf[p] = Proc.nsPid(p) ?? p }
        func k(_ host: pid_t) -> String { keyOf[host].map { String($0) } ?? "outside" }
        var out: [pid_t: TaskState] = [:]
        for p in pids {
            guard let stat = Proc.read("/proc/\(p)/stat"), let r = stat.lastIndex(of: ")") else { continue }
            let f = stat[stat.index(r, offsetBy: 2)...].split(separator: " ")
            let ppid = pid_t(f[1]) ?? 0, pgid = pid_t(f[2]) ?? 0, sid = pid_t(f[3]) ?? 0
            var t = TaskState(key: keyOf[p]!, parentKey: p == root ? nil : keyOf[ppid], pgidKey: k(pgid), sidKey: k(sid))
            let fdDir = "/proc/\(p)/fd"
            for n in (try? FileManager.default.contentsOfDirectory(atPath: fdDir)) ?? [] {
                guard let fd = Int(n), let target = Proc.readlink("\(fdDir)/\(n)") else { continue }
                var desc = normalizeFdTarget(target)
                if let info = Proc.read("/proc/\(p)/fdinfo/\(n)"),
                   let fl = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }) {
                    desc += " flags=" + fl.dropFirst(6).trimmingCharacters(in: .whitespaces)
                }
                t.fds[fd] = desc
            }
            t.maps = Maps.merge(Maps.parse(Proc.read("/proc/\(p)/maps") ?? ""))
            t.status = statusMap(Proc.read("/proc/\(p)/status") ?? "", fields: statusFields)
            for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p)/task")) ?? [] {
                guard let tp = pid_t(tid) else { continue }
                let tk = Proc.nsPid(tp) ?? tp
                t.threads[tk] = statusMap(Proc.read("/proc/\(p)/task/\(tid)/status") ?? "", fields: threadFields)
            }
            t.cwd = Proc.readlink("/proc/\(p)/cwd") ?? "?"
            t.root = Proc.readlink("/proc/\(p)/root") ?? "?"
            if withMounts { t.mounts = mounts(Proc.read("/proc/\(p)/mountinfo") ?? "") }
            out[t.key] = t
        }
        return out
    }

    /// Every difference between two snapshots, one line each (empty when the restore was faithful).
    public static func diff(before: [pid_t: TaskState], after: [pid_t: TaskState]) -> [String] {
        var out: [String] = []
        for k in before.keys.sorted() where after[k] == nil { out.append("task \(k) is gone") }
        for k in after.keys.sorted() where before[k] == nil { out.append("task \(k) is new") }
        for k in before.keys.sorted() {
            guard let b = before[k], let a = after[k] else { continue }
            let p = "task \(k):"
            if b.parentKey != a.parentKey { out.append("\(p) parent \(b.parentKey.map(String.init) ?? "-") -> \(a.parentKey.map(String.init) ?? "-")") }
            if b.pgidKey != a.pgidKey { out.append("\(p) pgid \(b.pgidKey) -> \(a.pgidKey)") }
            if b.sidKey != a.sidKey { out.append("\(p) sid \(b.sidKey) -> \(a.sidKey)") }
            for fd in Set(b.fds.keys).union(a.fds.keys).sorted() where b.fds[fd] != a.fds[fd] {
                out.append("\(p) fd \(fd): \(b.fds[fd] ?? "(none)") -> \(a.fds[fd] ?? "(none)")")
            }
            out += Maps.diff(before: b.maps, after: a.maps).map { "\(p) \($0)" }
            for f in statusFields where b.status[f] != a.status[f] {
                out.append("\(p) status \(f): \(b.status[f] ?? "-") -> \(a.status[f] ?? "-")")
            }
            if Set(b.threads.keys) != Set(a.threads.keys) {
                out.append("\(p) threads \(b.threads.keys.sorted()) -> \(a.threads.keys.sorted())")
            } else {
                for (tid, bs) in b.threads.sorted(by: { $0.key < $1.key }) where a.threads[tid] != bs {
                    out.append("\(p) thread \(tid) status \(bs) -> \(a.threads[tid] ?? [:])")
                }
            }
            if b.cwd != a.cwd { out.append("\(p) cwd \(b.cwd) -> \(a.cwd)") }
            if b.root != a.root { out.append("\(p) root \(b.root) -> \(a.root)") }
            if b.mounts != a.mounts {
                let bs = Set(b.mounts), as_ = Set(a.mounts)
                for m in b.mounts where !as_.contains(m) { out.append("\(p) mount gone: \(m)") }
                for m in a.mounts where !bs.contains(m) { out.append("\(p) mount new: \(m)") }
            }
        }
        return out
    }
}
