import Glibc
import CSys

/// Kernel state that separate processes can share when created with clone(2) flags: the address space
/// (CLONE_VM, and a parent inside vfork), the fd table (CLONE_FILES), cwd/root/umask (CLONE_FS) and the
/// signal handler table (CLONE_SIGHAND). The restore recreates each between a parent and its children
/// (same fs_id, files_id, vm_id, sighand_id in ids-PID.img; Restore/SharedFs, SharedFdTable, SharedMm).
/// Other shapes are refused at dump, naming both pids: without the refusal the tasks would come back with
/// private copies that silently drift apart.
enum SharedTaskState {
    /// child pid -> parent pid, for each kind the restore recreates by cloning the child from its parent.
    struct Sharing: Equatable {
        var fs: [Int32: Int32] = [:]
        var files: [Int32: Int32] = [:]
        var vm: [Int32: Int32] = [:]
        var sighand: [Int32: Int32] = [:]
        var isEmpty: Bool { fs.isEmpty && files.isEmpty && vm.isEmpty && sighand.isEmpty }
    }

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

    /// Throws for the first pair of live tasks that share one of the objects, except what a parent shares
    /// with its children by CLONE_FS, CLONE_FILES, CLONE_VM or CLONE_SIGHAND, which the restore recreates by cloning
    /// the child with the same flag: those come back as child pid -> parent pid. kcmp orders the kernel
    /// objects, so sorting by it finds equal ones next to each other: O(n log n) calls, not O(n^2).
    /// `tasks` is in tree order (parents first).
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
                let parents = try family(run, parentOf: parentOf, what: kind.what)
                switch kind.type {
                case kcmpFS: out.fs.merge(parents) { a, _ in a }
                case kcmpFiles: out.files.merge(parents) { a, _ in a }
                case kcmpVM: out.vm.merge(parents) { a, _ in a }
                default: out.sighand.merge(parents) { a, _ in a }
                }
            }
        }
        // The kernel gives CLONE_SIGHAND only with CLONE_VM, and exec unshares both.
        for (c, p) in out.sighand where out.vm[c] != p {
            throw EngineError("dump", pid: c, reason: "shares its signal handlers with pid \(p) but not its address space; not supported")
        }
        // A process on its parent's memory is cloned from outside and given its own fds (SharedMm); the
        // shared fd table is built by forked tasks (SharedFdTable). The two do not meet.
        for (c, p) in out.files where out.vm[c] != nil {
            throw EngineError("dump", pid: c, reason: "shares both its address space and its fd table (CLONE_VM|CLONE_FILES) with pid \(p); not supported")
        }
        return out
    }

    /// Sharers are recreated by cloning each child from its parent: they must be one family with exactly
    /// one member whose parent does not share. Returns member -> parent for every other member.
    static func family(_ run: [Int32], parentOf: [Int32: Int32], what: String) throws -> [Int32: Int32] {
        let members = Set(run)
        let tops = run.filter { !members.contains(parentOf[$0] ?? 0) }
        if tops.count > 1 {
            throw EngineError("dump", pid: tops[1],
                              reason: "shares its \(what) with pid \(tops[0]), which is not its parent or child; only a parent and its children sharing these are supported")
        }
        var out: [Int32: Int32] = [:]
        for m in run where !tops.contains(m) { out[m] = parentOf[m]! }
        return out
    }
}
