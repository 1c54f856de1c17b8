import Glibc

/// Decides, before anything is touched, whether a pid may be dumped at all.
enum DumpTarget {
    /// Refuses pid 1, ourselves and our ancestors (freezing one of them would freeze us), zombies,, each with one line that says why.
    static func validate(_ pid: Int32) throws {
        guard pid > 0 else { throw EngineError("dump", pid: pid, reason: "not a valid pid") }
        guard pid != 1 else {
            throw EngineError("dump", pid: pid, reason: "refusing to dump the init process of this pid namespace")
        }
        let status: TaskStatus
        do { status = try Status.read(pid: pid) } catch {
            throw EngineError("dump", pid: pid, reason: "no such process (\(error))")
        }
        guard status.tgid == pid else {
            throw EngineError("dump", pid: pid, reason: "is a thread of process \(status.tgid); dump the process")
        }
        if status.state == "Z" || status.state == "X" {
            throw EngineError("dump", pid: pid, reason: "is a zombie; dump its parent")
        }
        for ancestor in ancestors(of: getpid()) where ancestor == pid {
            throw EngineError("dump", pid: pid, reason: "is criu itself or one of its ancestors")
        }
        if status.tracerPid != 0 {
            throw EngineError("dump", pid: pid, reason: "is already traced by pid \(status.tracerPid)")
        }
    }

    /// Our pid and every ancestor up to pid 1, from the parent field of /proc/PID/stat.
    static func ancestors(of start: Int32) -> [Int32] {
        var out: [Int32] = []
        var p = start
        while p > 0 && out.count < 4096 {
            out.append(p)
            guard let parent = try? Stat.parent(of: p) else { break }
            p = parent
        }
        return out
    }
}
