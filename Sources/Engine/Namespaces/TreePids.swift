/// The pids images hold: as seen inside the tree's pid namespace (the last NSpid/NSpgid/NSsid entries),
/// which for a tree in criu's pid namespace are the host ones. A session or group outside the tree's
/// pid namespace shows as 0 there.
enum TreePids {
    static func inner(_ tree: [TreeTask], ownPidNs: Bool) throws -> [Int32: (pid: Int32, pgid: Int32, sid: Int32)] {
        var out: [Int32: (pid: Int32, pgid: Int32, sid: Int32)] = [:]
        for t in tree {
            guard ownPidNs else { out[t.pid] = (t.pid, t.pgid, t.sid); continue }
            let st: TaskStatus
            do { st = try Status.read(pid: t.pid) } catch {
                throw EngineError("read status", pid: t.pid, path: "/proc/\(t.pid)/status", reason: "\(error)")
            }
            guard let ids = TreeNamespaces.innerIds(st) else {
                throw EngineError("dump", pid: t.pid, reason: "/proc/\(t.pid)/status has no NSpid/NSpgid/NSsid lines")
            }
            out[t.pid] = ids
        }
        return out
    }

    /// A pid of ours as the task itself sees it (its innermost pid namespace's); unchanged when the
    /// task is gone or in our own pid namespace.
    static func innerPid(_ host: Int32) -> Int32 {
        guard host > 0, let st = try? Status.read(pid: host), let last = st.nsPid.last else { return host }
        return last
    }
}
