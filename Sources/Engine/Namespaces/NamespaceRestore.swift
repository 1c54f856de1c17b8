import Glibc
import CSys

/// The restore side of a tree with namespaces of its own: the root is born in fresh ones (pid 1 of its
/// pid namespace when it had one), prepares them from inside before it forks anything, and the
/// restorer learns the host pids of the tasks it must trace from /proc.
enum NamespaceRestore {
    /// clone3 for the root: in a new pid namespace it is pid 1 by birth, so no set_tid; otherwise at its
    /// dumped pid. Returns like fork(): 0 in the child, its host pid in the parent, -1 with errno.
    static func forkRoot(_ ns: NamespaceImages, pid: Int32, flags: UInt64) -> Int {
        forkAtPid(ns.ownPidNs ? nil : pid, flags: ns.cloneFlags | flags)
    }

    /// Runs in the root right after its birth, before any other task exists: mounts first (a proc of
    /// the new pid namespace needs a task in it), then names, then lo.
    static func prepareInside(_ ns: NamespaceImages) throws {
        if let mounts = ns.mounts { try MountNamespace.restore(mounts) }
        if let uts = ns.uts { try UtsNamespace.restore(uts) }
        if ns.kinds.contains(.net) { try NetNamespace.restore(ns.netDevices) }
    }

    /// pidfds to reaped processes were made by criu with a helper in criu's pid namespace; from inside
    /// the new one such a pidfd is foreign (pidfd_send_signal: EINVAL, not ESRCH). The root remakes
    /// each at the same fd number with a helper of its own, reaped at once so its pid is free again.
    static func remakeDeadPidfds(_ fds: [UInt32: Int32]) throws {
        for (_, target) in fds.sorted(by: { $0.key < $1.key }) {
            let fd = try PidfdFile.pidfdOfReapedHelper()
            defer { close(fd) }
            guard csys_sys_dup3(fd, target, O_CLOEXEC) >= 0 else {
                throw EngineError("dup3 pidfd over fd \(target)", errno: .init(rawValue: errno))
            }
        }
    }

    /// Dumped (namespace) pid -> host pid of every task under the root, from the NSpid lines.
    static func hostPids(root: Int32) throws -> [Int32: Int32] {
        var out: [Int32: Int32] = [:]
        var queue = [root]
        while let host = queue.popLast() {
            let st: TaskStatus
            do { st = try Status.read(pid: host) } catch {
                throw EngineError("read status of restored task", pid: host, reason: "\(error)")
            }
            guard let inner = st.nsPid.last else { throw EngineError("restore", pid: host, reason: "no NSpid line in /proc/\(host)/status") }
            out[inner] = host
            for tid in (try? ProcFile.listNumbers("/proc/\(host)/task")) ?? [] {
                let text = (try? ProcFile.readText("/proc/\(host)/task/\(tid)/children")) ?? ""
                queue += text.split(separator: " ").compactMap { Int32($0.filter { !$0.isWhitespace }) }
            }
        }
        return out
    }

    /// Host tids of a task's threads by their tid in the task's own pid namespace. Threads are created
    /// one at a time, so each lookup reads the status of the threads not seen before only.
    struct ThreadTids {
        let task: Int32
        private var seen: Set<Int32> = []
        private var hostOf: [Int32: Int32] = [:]

        init(task: Int32) { self.task = task }

        mutating func host(_ inner: Int32) throws -> Int32 {
            if let h = hostOf[inner] { return h }
            for tid in (try? ProcFile.listNumbers("/proc/\(task)/task")) ?? [] where !seen.contains(tid) {
                guard let st = try? Status.read(pid: task, tid: tid), let i = st.nsPid.last else { continue }
                seen.insert(tid)
                hostOf[i] = tid
            }
            guard let h = hostOf[inner] else {
                throw EngineError("find restored thread", pid: task, reason: "no thread with tid \(inner) in its pid namespace")
            }
            return h
        }
    }
}
