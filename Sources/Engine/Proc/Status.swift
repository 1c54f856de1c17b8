/// /proc/PID/status: identity, credentials, signal masks and capabilities of a task as the kernel sees
/// them. Credentials and caps come from here because it reads them without touching the task.
public struct TaskStatus: Equatable, Sendable {
    public var name: String
    public var umask: UInt32?
    /// The state letter: R, S, D, T (stopped), t (tracing stop), Z, X, I, P...
    public var state: Character
    public var tgid: Int32
    public var pid: Int32
    public var ppid: Int32
    public var tracerPid: Int32
    /// real, effective, saved, filesystem.
    public var uid: [UInt32]
    public var gid: [UInt32]
    public var groups: [UInt32]
    /// The task's ids in each pid namespace, outermost first.
    public var nsTgid: [Int32]
    public var nsPid: [Int32]
    public var nsPgid: [Int32]
    public var nsSid: [Int32]
    /// Queued signals for the task's user, and that user's RLIMIT_SIGPENDING.
    public var sigQueued: UInt64
    public var sigQueueLimit: UInt64
    /// Bit (n-1) set for signal n.
    public var sigPending: UInt64
    public var sigPendingShared: UInt64
    public var sigBlocked: UInt64
    public var sigIgnored: UInt64
    public var sigCaught: UInt64
    public var capInheritable: UInt64
    public var capPermitted: UInt64
    public var capEffective: UInt64
    public var capBounding: UInt64
    public var capAmbient: UInt64
    public var noNewPrivs: Bool
    /// 0 disabled, 1 strict, 2 filter.
    public var seccompMode: Int32
    public var seccompFilters: Int32?
    public var threads: Int32
    /// "THP_enabled": false when PR_SET_THP_DISABLE is in force (Linux 5.0+; nil when absent).
    public var thpEnabled: Bool?
    /// Every line as printed, for fields not modelled above.
    public var raw: [String: String]
}

public enum Status {
    public static func parse(_ text: String, source: String = "status") throws(ProcError) -> TaskStatus {
        var raw: [String: String] = [:]
        var values: [Substring: Substring] = [:]
        for line in TextFields.lines(text) {
            guard let (k, v) = TextFields.keyValue(line) else { continue }
            values[k] = v
            raw[String(k)] = String(v)
        }
        func need(_ k: Substring) throws(ProcError) -> Substring {
            guard let v = values[k] else { throw .malformed(source, "no \"\(k):\" line") }
            return v
        }
        func decList<T: FixedWidthInteger>(_ k: Substring) throws(ProcError) -> [T] {
            guard let v = values[k] else { return [] }
            var out: [T] = []
            for w in TextFields.words(v) { out.append(try TextFields.dec(w, source, String(k))) }
            return out
        }
        func mask(_ k: Substring) throws(ProcError) -> UInt64 {
            try TextFields.hex(try need(k), source, String(k))
        }
        func int(_ k: Substring) throws(ProcError) -> Int32 {
            try TextFields.dec(try need(k), source, String(k))
        }

        let stateField = try need("State")
        guard let state = stateField.first else { throw .malformed(source, "empty State") }
        let sigq = try need("SigQ").split(separator: "/")
        guard sigq.count == 2 else { throw .malformed(source, "SigQ: \"\(values["SigQ"] ?? "")\"") }
        let uid: [UInt32] = try decList("Uid")
        let gid: [UInt32] = try decList("Gid")
        guard uid.count == 4, gid.count == 4 else { throw .malformed(source, "Uid/Gid: expected 4 ids each") }

        return TaskStatus(
            name: unescapeName(try need("Name")),
            umask: try values["Umask"].map { v throws(ProcError) in try TextFields.oct(v, source, "Umask") },
            state: state,
            tgid: try int("Tgid"),
            pid: try int("Pid"),
            ppid: try int("PPid"),
            tracerPid: try int("TracerPid"),
            uid: uid,
            gid: gid,
            groups: try decList("Groups"),
            nsTgid: try decList("NStgid"),
            nsPid: try decList("NSpid"),
            nsPgid: try decList("NSpgid"),
            nsSid: try decList("NSsid"),
            sigQueued: try TextFields.dec(sigq[0], source, "SigQ"),
            sigQueueLimit: try TextFields.dec(sigq[1], source, "SigQ"),
            sigPending: try mask("SigPnd"),
            sigPendingShared: try mask("ShdPnd"),
            sigBlocked: try mask("SigBlk"),
            sigIgnored: try mask("SigIgn"),
            sigCaught: try mask("SigCgt"),
            capInheritable: try mask("CapInh"),
            capPermitted: try mask("CapPrm"),
            capEffective: try mask("CapEff"),
            capBounding: try mask("CapBnd"),
            capAmbient: values["CapAmb"] == nil ? 0 : try mask("CapAmb"),
            noNewPrivs: values["NoNewPrivs"] == "1",
            seccompMode: values["Seccomp"] == nil ? 0 : try int("Seccomp"),
            seccompFilters: try values["Seccomp_filters"].map { v throws(ProcError) in
                try TextFields.dec(v, source, "Seccomp_filters")
            },
            threads: try int("Threads"),
            thpEnabled: values["THP_enabled"].map { $0 == "1" },
            raw: raw)
    }

    /// The kernel escapes '\n' as "\n" and '\' as "\\" in the Name line so that one task is one line.
    static func unescapeName(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            if c == "\\", let n = it.next() {
                switch n {
                case "n": out.append("\n")
                case "\\": out.append("\\")
                default: out.append(c); out.append(n)
                }
            } else {
                out.append(c)
            }
        }
        return out
    }

    public static func read(pid: Int32) throws(ProcError) -> TaskStatus {
        let path = "/proc/\(pid)/status"
        return try parse(ProcFile.readText(path), source: path)
    }

    /// A thread's own status (its signal masks and pending set differ from the leader's).
    public static func read(pid: Int32, tid: Int32) throws(ProcError) -> TaskStatus {
        let path = "/proc/\(pid)/task/\(tid)/status"
        return try parse(ProcFile.readText(path), source: path)
    }
}
