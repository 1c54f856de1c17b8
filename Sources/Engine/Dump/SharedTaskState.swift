import Glibc
import CSys

/// Kernel state that separate processes can share when created with clone(2) flags: the address space
/// (CLONE_VM, and a parent inside vfork), the fd table (CLONE_FILES), cwd/root/umask (CLONE_FS) and the
/// signal handler table (CLONE_SIGHAND). The restore forks every process with plain fork semantics, so a
/// tree where two processes share one of these would come back with private copies that silently drift
/// apart: such a tree is refused at dump, naming both pids.
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

    /// Throws for the first pair of live tasks that share one of the objects. kcmp orders the kernel
    /// objects, so sorting by it finds equal ones next to each other: O(n log n) calls, not O(n^2).
    static func check(_ pids: [Int32]) throws {
        guard pids.count > 1 else { return }
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
            for (a, b) in zip(sorted, sorted.dropFirst()) where csys_sys_kcmp(a, b, kind.type, 0, 0) == 0 {
                let (x, y) = (min(a, b), max(a, b))
                throw EngineError("dump", pid: y,
                                  reason: "shares its \(kind.what) with pid \(x); processes sharing this are not supported")
            }
        }
    }
}
