import Glibc
import CSys
import Images

/// An fd table that a parent and some of its children share (clone with CLONE_FILES, no CLONE_VM).
///
/// Dump: the table is written once, as fdinfo-ID.img of its first holder; each sharer's ids-PID.img
/// names the same files_id.
///
/// Restore: the first holder places the fds as any task does, then forks its sharers with CLONE_FILES
/// (a sharer forks its own sharers the same way): the table is built once and never copied. What makes
/// it delicate is that every task also opens restore-time fds of its own (pages image, exe, mapped
/// files, trampoline memfd; RestoreChild.prepare) and then closes whatever else is open, which in one
/// table would close the other holders' fds. So:
/// - a sharer places no fds, opens its own restore-time fds (the kernel gives them numbers nobody in
///   the table holds), reports, closes its report fd (a dup its parent made for it) and tells the first
///   holder which fds it keeps, over a pipe in the table; it closes nothing else;
/// - the first holder waits for every sharer's message, then prepares last: its clean-up closes the
///   strays of the whole table and keeps every holder's restore-time fds;
/// - each task's rebuild closes its own restore-time fds by injected close(), as before; numbers are
///   distinct, so no holder closes another's.
/// Shapes this cannot make (sharers that are not parent and child, a root sharing with a task outside
/// the tree) are refused at dump (SharedTaskState).
enum SharedFdTable {
    /// At dump: the files_id of each task (its parent's when they share) and the tables already dumped.
    struct Dump {
        private var ids: [Int32: UInt32] = [:]
        var tables: [UInt32: [FdinfoEntry]] = [:]

        mutating func filesID(pid: Int32, parent: Int32?, index: UInt32) -> UInt32 {
            let id = parent.flatMap { ids[$0] } ?? index
            ids[pid] = id
            return id
        }
    }

    /// The dumped root may not share its table with its parent: that task is not dumped, and the root
    /// would come back with a private copy.
    static func checkRootAlone(pid: Int32, parent: Int32) throws {
        // Init does not clone tasks onto its own fd table, and is no business of ours.
        guard parent > 1, pid != parent else { return }
        if csys_sys_kcmp(pid, parent, SharedTaskState.kcmpFiles, 0, 0) == 0 {
            throw EngineError("dump", pid: pid,
                              reason: "shares its fd table (CLONE_FILES) with its parent pid \(parent), which is outside the dumped tree; dump from pid \(parent) instead")
        }
    }

    /// Restore: CLONE_FILES when `filesID` equals the parent's (CloneShare's rule).
    static func cloneFlags(pid: Int32, filesID: UInt32, parentFilesID: UInt32?, seen: inout [UInt32: Int32]) throws -> UInt64 {
        try CloneShare.files.cloneFlag(pid: pid, id: filesID, parentID: parentFilesID, seen: &seen)
    }

    /// Counts, for each first holder, the tasks below it that share its table (after helpers are in).
    static func countSharers(_ plans: inout [ChildPlan], faults: Faults) {
        var parent: [Int: Int] = [:]
        for (pi, p) in plans.enumerated() { for c in p.children { parent[c] = pi } }
        for i in plans.indices where plans[i].sharesParentFiles {
            var top = i
            while plans[top].sharesParentFiles, let p = parent[top] { top = p }
            plans[top].tableSharers += 1
            plans[top].tableFaults = faults
        }
    }

    /// In the first holder, after its fds are placed: the pipe its sharers report on, its number written
    /// into their plans (they are forked from `plans`). nil for a task without sharers.
    static func openDonePipe(_ plans: inout [ChildPlan], _ index: Int, targets: Set<Int32>) throws -> (read: Int32, write: Int32)? {
        guard plans[index].tableSharers > 0 else { return nil }
        var fds: [Int32] = [-1, -1]
        guard csys_sys_pipe2(&fds, O_CLOEXEC) == 0 else {
            throw EngineError("pipe2 for the shared fd table", errno: .init(rawValue: errno))
        }
        let spare = SpareFds(targets: targets)
        let r = try spare.park(fds[0], "fd table pipe"), w = try spare.park(fds[1], "fd table pipe")
        var stack = plans[index].children
        while let c = stack.popLast() {
            guard plans[c].sharesParentFiles else { continue }
            plans[c].tableDoneFd = w
            stack += plans[c].children
        }
        return (r, w)
    }

    /// A sharer's own report fd: its parent's, dup'ed (in the one table) so that each closes its own.
    static func reportFd(_ fd: Int32, for plan: ChildPlan) throws -> Int32 {
        let n = csys_fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard n >= 0 else { throw EngineError("dup report pipe for pid \(plan.pid)", errno: .init(rawValue: errno)) }
        return try SpareFds(targets: Set(plan.fds.map(\.fd))).park(n, "report pipe")
    }

    /// In a sharer once it reported and closed its report fd: "D fd fd ...", the fds it keeps.
    static func tellDone(_ plan: ChildPlan, keeps: [Int32]) {
        send(plan.tableDoneFd, "D" + keeps.map { " \($0)" }.joined() + "\n")
    }

    /// In a sharer that failed: the first holder must not wait for it.
    static func tellFailed(_ plan: ChildPlan) {
        guard plan.sharesParentFiles else { return }
        send(plan.tableDoneFd, "E \(plan.pid)\n")
    }

    /// In the first holder: waits for one line from each sharer and returns the fds they keep. A sharer
    /// that died without a word is noticed by the time limit.
    static func waitForSharers(_ plan: ChildPlan, pipe ends: (read: Int32, write: Int32), timeoutSeconds: Int32 = 120) throws -> Set<Int32> {
        let pipe = ends.read
        defer { close(ends.read); close(ends.write) }
        var text: [UInt8] = []
        var lines = 0
        var waited: Int32 = 0
        var buf = [UInt8](repeating: 0, count: 4096)
        while lines < plan.tableSharers {
            var p = pollfd(fd: pipe, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, 1000)
            if r < 0 && errno == EINTR { continue }
            if r < 0 { throw EngineError("poll the shared fd table's pipe", pid: plan.pid, errno: .init(rawValue: errno)) }
            if r == 0 {
                waited += 1
                if waited >= timeoutSeconds {
                    throw EngineError("restore", pid: plan.pid,
                                      reason: "tasks sharing its fd table did not finish preparing within \(timeoutSeconds) s")
                }
                continue
            }
            let n = buf.withUnsafeMutableBytes { read(pipe, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw EngineError("read the shared fd table's pipe", pid: plan.pid, errno: .init(rawValue: errno)) }
            text += buf[0..<n]
            lines = text.filter { $0 == UInt8(ascii: "\n") }.count
        }
        var keep = Set<Int32>()
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
            let w = line.split(separator: " ")
            if w.first == "E" {
                throw EngineError("restore", pid: plan.pid, reason: "task \(w.dropFirst().first ?? "?") sharing its fd table failed")
            }
            for v in w.dropFirst() { if let fd = Int32(v) { keep.insert(fd) } }
        }
        try plan.tableFaults?.check(.restoreAfterTableSharers)
        return keep
    }

    private static func send(_ fd: Int32, _ text: String) {
        guard fd >= 0 else { return }
        var t = text
        t.withUTF8 { b in _ = write(fd, b.baseAddress, b.count) }
    }
}
