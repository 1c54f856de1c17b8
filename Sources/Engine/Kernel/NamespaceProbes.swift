import Glibc
import CSys

enum NamespaceProbes {
    private static func unshareInChild(_ flag: Int32, _ what: String) -> ProbeResult {
        let e = runInChild { csys_sys_unshare(flag) == 0 ? 0 : errno }
        return e == 0 ? .present("a child unshared its \(what) namespace") : .failed("unshare(\(what))", e)
    }

    @Sendable static func userns() -> ProbeResult { unshareInChild(Int32(CSYS_CLONE_NEWUSER), "user") }

    @Sendable static func timens() -> ProbeResult { unshareInChild(Int32(CSYS_CLONE_NEWTIME), "time") }

    @Sendable static func cgroupns() -> ProbeResult {
        access("/proc/self/ns/cgroup", F_OK) == 0 ? .present("/proc/self/ns/cgroup") : .failed("access /proc/self/ns/cgroup", errno)
    }

    @Sendable static func loginuid() -> ProbeResult {
        access("/proc/self/loginuid", R_OK) == 0 ? .present("/proc/self/loginuid") : .failed("access /proc/self/loginuid", errno)
    }

    @Sendable static func nsPid() -> ProbeResult {
        guard let status = try? ProcFile.readText("/proc/self/status") else { return .failed("read /proc/self/status", errno) }
        return status.contains("\nNSpid:") ? .present("NSpid listed") : .missing("/proc/self/status has no NSpid line")
    }
}
