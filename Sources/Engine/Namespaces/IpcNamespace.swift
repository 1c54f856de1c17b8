import Glibc

/// Only an empty ipc namespace is supported: a helper inside it checks /proc/sysvipc (which shows the
/// reader's ipc namespace) and any SysV object refuses the dump. The restore's fresh ipc namespace is
/// then equal to it; its sysctls are not carried over.
enum IpcNamespace {
    static func check(pid: Int32) throws {
        let found = try NsHelper.run(pid: pid, join: ["ipc"], what: "list SysV IPC objects") {
            var out: [String] = []
            for kind in ["shm", "msg", "sem"] {
                let path = "/proc/sysvipc/\(kind)"
                let text: String
                do { text = try ProcFile.readText(path) } catch { throw EngineError("read", path: path, reason: "\(error)") }
                let n = text.split(separator: "\n").count - 1
                if n > 0 { out.append("\(n) \(kind)") }
            }
            return out.joined(separator: ", ")
        }
        if !found.isEmpty {
            throw EngineError("dump", pid: pid, reason: "its ipc namespace holds SysV objects (\(found)); SysV IPC is not supported")
        }
    }
}
