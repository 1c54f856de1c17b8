import Glibc
import CSys

/// Kernel state that separate processes can share when created with clone(2) flags: the address space
/// (CLONE_VM, and a parent inside vfork), the fd table (CLONE_FILES), cwd/root/umask (CLONE_FS) and the
/// signal handler table (CLONE_SIGHAND). The restore recreates CLONE_FS and CLONE_FILES between a parent
/// and its children (same fs_id / files_id in ids-PID.img; Restore/SharedFs, Restore/SharedFdTable). The
/// others are refused at dump, naming both pids: CLONE_SIGHAND needs CLONE_VM, and two processes on one
/// address space cannot be rebuilt one at a time. Without the refusal they would come back as private
/// copies that silently drift apart.
enum SharedTaskState {
    // kcmp(2) types
    static let kcmpVM: Int32 = 1
    static let kcmpFiles: Int32 = 2
    static let kcmpFS: Int32 = 3
    static let kcmpSighand: Int32 = 4

    static let kinds: [(type: Int32, what: String)] = [
        (kcmpVM, "address space (CLONE_VM, or a parent waiting in vfork for this child)"),
        (kcmpFiles, "fd table (CLONE_FILES)"),
        (kcmpFS, "cwd/root/umask (CLONE_FS)"),
        (kcmpSighand, "signal handlers (CLONE_SIGHAND)"),
    ]

    /// Which task shares its fs or fd table with its parent: child pid -> parent pid.
    struct Sharing {
        var fsParent: [Int32: Int32] = [:]
        var filesParent: [Int32: Int32] = [:]
    }

    /// Throws for the first pair of live tasks that share one of the objects, except cwd/root/umask or an
    /// fd table shared between a parent and its children, which the restore recreates (clone with
    /// CLONE_FS, CLONE_FILES): those come back as child pid -> parent pid. kcmp orders the kernel objects,
    /// so sorting by it finds equal ones next to each other: O(n log n) calls, not O(n^2). `tasks` is in
    /// tree order (parents first).
    static func check(_ tasks: [(pid: Int32, ppid: Int32)]) throws -> Sharing {
        if let root = tasks.first { try SharedFdTable.checkRootAlone(pid: root.pid, parent: root.ppid) }
        guard tasks.count > 1 else { return Sharing() }
        let pids = tasks.map(\.pid)
        let parentOf = Dictionary(tasks.map { ($0.pid, $0.ppid) }, uniquingKeysWith: { a, _ in a })
        var out = Sharing()
        for kind in kinds {
            var failure: EngineError?
            let sorted = pids.sorted { a, b in
                let r = csys_sys_kcmp(a, b, kind.type, 0, 0)
                if r < 0 && failure == nil {
                    failure = EngineError("kcmp", pid: a, errno: .init(rawValue: errno), reason: "comparing with pid \(b)")
                }
                return r == 1
            }
            if let failure { throw failure }
            var run: [Int32] = []
            for (i, pid) in sorted.enumerated() {
                run.append(pid)
                let last = i == sorted.count - 1 || csys_sys_kcmp(pid, sorted[i + 1], kind.type, 0, 0) != 0
                guard last else { continue }
                defer { run = [] }
                guard run.count > 1 else { continue }
                let members = Set(run)
                guard kind.type == kcmpFS || kind.type == kcmpFiles else {
                    let (x, y) = (run.min()!, run.filter { $0 != run.min()! }.min()!)
                    throw EngineError("dump", pid: y, reason: "shares its \(kind.what) with pid \(x); processes sharing this are not supported")
                }
                // Recreated by cloning each child from its parent: the sharers must be one family, with
                // exactly one of them whose parent does not share.
                let tops = run.filter { !members.contains(parentOf[$0] ?? 0) }
                if tops.count > 1 {
                    throw EngineError("dump", pid: tops[1],
                                      reason: "shares its \(kind.what) with pid \(tops[0]), which is not its parent or child; only a parent and its children sharing these are supported")
                }
                for m in run where !tops.contains(m) {
                    if kind.type == kcmpFS { out.fsParent[m] = parentOf[m]! } else { out.filesParent[m] = parentOf[m]! }
                }
            }
        }
        return out
    }
}
