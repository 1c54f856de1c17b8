/// Threads and children of a task. Both can change while the task runs, so the tree collector
/// re-reads them after seizing until two reads agree; these functions only read once.
public enum Tasks {
    /// Thread ids of a process, sorted (the leader's tid equals the pid).
    public static func threads(pid: Int32) throws(ProcError) -> [Int32] {
        try ProcFile.listNumbers("/proc/\(pid)/task")
    }

    /// Children created by one thread (CONFIG_PROC_CHILDREN), space-separated pids.
    public static func parseChildren(_ text: String, source: String = "children") throws(ProcError) -> [Int32] {
        var out: [Int32] = []
        for w in TextFields.words(text[...]) {
            out.append(try TextFields.dec(w.trimmingSpaces(), source, "child pid"))
        }
        return out
    }

    public static func children(pid: Int32, tid: Int32) throws(ProcError) -> [Int32] {
        let path = "/proc/\(pid)/task/\(tid)/children"
        return try parseChildren(ProcFile.readText(path), source: path)
    }

    /// Children of every thread of a process, sorted and without duplicates.
    public static func children(pid: Int32) throws(ProcError) -> [Int32] {
        var all: [Int32] = []
        for tid in try threads(pid: pid) {
            do {
                all += try children(pid: pid, tid: tid)
            } catch let e where e.errno == .noSuchFileOrDirectory {
                continue  // the thread exited between the listing and this read
            }
        }
        var seen = Set<Int32>()
        return all.sorted().filter { seen.insert($0).inserted }
    }
}
