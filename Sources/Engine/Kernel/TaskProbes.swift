import Glibc
import CSys

enum TaskProbes {
    /// Asks clone3 for a pid that our own probe child holds: EEXIST proves set_tid is understood,
    /// and nothing can be created by accident.
    @Sendable static func clone3SetTid() -> ProbeResult {
        switch ProbeChild.start() {
        case .failure(let e):
            return .failed("probe child", e.rawValue)
        case .success(let child):
            defer { child.finish() }
            let r = forkAtPid(child.pid)
            if r == 0 { _exit(0) }
            if r > 0 {
                var status: Int32 = 0
                waitpid(pid_t(r), &status, 0)
                return .missing("clone3 ignored set_tid")
            }
            let e = errno
            return e == EEXIST ? .present("clone3 honours set_tid") : .failed("clone3(set_tid)", e)
        }
    }

    /// The kernel refuses a second vdso with EEXIST only when it knows ARCH_MAP_VDSO_64 at all.
    @Sendable static func canMapVdso() -> ProbeResult {
        let r = csys_sys_arch_prctl(Int32(CSYS_ARCH_MAP_VDSO_64), 0)
        let e = errno
        if r < 0 && e == EEXIST { return .present("ARCH_MAP_VDSO_64 known") }
        return r == 0 ? .missing("ARCH_MAP_VDSO_64 mapped a second vdso") : .failed("arch_prctl(ARCH_MAP_VDSO_64)", e)
    }

    @Sendable static func vdsoLayout() -> ProbeResult {
        guard let maps = try? ProcFile.readText("/proc/self/maps") else { return .failed("read /proc/self/maps", errno) }
        var found: [String: (UInt64, UInt64)] = [:]
        for line in maps.split(separator: "\n") {
            guard let name = line.split(separator: " ", omittingEmptySubsequences: true).last,
                  ["[vvar]", "[vvar_vclock]", "[vdso]"].contains(name),
                  let range = line.split(separator: " ").first else { continue }
            let ends = range.split(separator: "-").compactMap { UInt64($0, radix: 16) }
            if ends.count == 2 { found[String(name)] = (ends[0], ends[1]) }
        }
        guard let vdso = found["[vdso]"] else { return .missing("no [vdso] in /proc/self/maps") }
        guard let vvar = found["[vvar]"], let clock = found["[vvar_vclock]"] else {
            return .missing("expected [vvar][vvar_vclock][vdso], found \(found.keys.sorted().joined(separator: ","))")
        }
        guard vvar.1 == clock.0, clock.1 == vdso.0 else { return .missing("[vvar], [vvar_vclock] and [vdso] are not adjacent") }
        let pages = { (r: (UInt64, UInt64)) in (r.1 - r.0) / 4096 }
        return .present("[vvar] \(pages(vvar)) pages, [vvar_vclock] \(pages(clock)), [vdso] \(pages(vdso))")
    }

    @Sendable static func capCheckpointRestore() -> ProbeResult {
        var caps = [UInt32](repeating: 0, count: 6)
        guard csys_sys_capget(&caps) == 0 else { return .failed("capget", errno) }
        let bit = Int(CSYS_CAP_CHECKPOINT_RESTORE)
        let effective = caps[bit / 32] & (1 << UInt32(bit % 32)) != 0
        return effective ? .present("effective") : .missing("CAP_CHECKPOINT_RESTORE is not in the effective set")
    }

    @Sendable static func timerRestoreIds() -> ProbeResult {
        let r = csys_prctl(CSYS_PR_TIMER_CREATE_RESTORE_IDS, UInt(CSYS_PR_TIMER_CREATE_RESTORE_IDS_GET), 0, 0, 0)
        return r >= 0 ? .present("PR_TIMER_CREATE_RESTORE_IDS known") : .failed("prctl(PR_TIMER_CREATE_RESTORE_IDS)", errno)
    }
}
