import Glibc
import CSys

/// Holds a root born in a fresh pid namespace until the restorer has put it in a process group that,
/// as at dump, lies outside that namespace (the image says pgid 0): a helper of criu's leads a new group,
/// the root joins it from out here (inside, the group's id does not exist), the helper exits and the
/// group lives on with the root. Left in criu's own group, the root would go down with criu's group.
struct RootGate {
    let pipeFds: (read: Int32, write: Int32)
    let helper: Int32?

    static func open(groupOutside: Bool) throws -> RootGate {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw EngineError("pipe", errno: .init(rawValue: errno)) }
        var helper: Int32?
        if groupOutside {
            let h = fork()
            if h == 0 {
                close(fds[0]); close(fds[1])
                _ = csys_prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
                _ = setpgid(0, 0)
                while true { pause() }
            }
            guard h > 0 else {
                let e = errno
                close(fds[0]); close(fds[1])
                throw EngineError("fork process group helper", errno: .init(rawValue: e))
            }
            // Either side may win the race to make the group; both calls ask for the same thing.
            _ = setpgid(h, h)
            helper = h
        }
        return RootGate(pipeFds: (fds[0], fds[1]), helper: helper)
    }

    /// In the root: wait for the go (or for the restorer's end of the pipe to close).
    func waitInChild() {
        close(pipeFds.write)
        var b: UInt8 = 0
        while read(pipeFds.read, &b, 1) < 0 && errno == EINTR {}
        close(pipeFds.read)
    }

    /// In the restorer, once the root exists (root <= 0: it does not; only clean up).
    func release(root: Int32) throws {
        close(pipeFds.read)
        defer {
            if let helper {
                kill(helper, SIGKILL)
                var st: Int32 = 0
                while waitpid(helper, &st, 0) < 0 && errno == EINTR {}
            }
        }
        guard root > 0 else { close(pipeFds.write); return }
        if let helper, setpgid(root, helper) < 0 {
            let e = errno
            close(pipeFds.write)
            throw EngineError("setpgid(\(root), \(helper))", pid: root, errno: .init(rawValue: e),
                              reason: "put the namespace's init in a process group outside its namespace")
        }
        var go: UInt8 = 1
        _ = write(pipeFds.write, &go, 1)
        close(pipeFds.write)
    }
}
