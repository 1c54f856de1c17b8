import Glibc
import CSys
import Images

/// Host and domain name of a uts namespace: read by a helper that joins it, set by the restored root
/// in its fresh one.
enum UtsNamespace {
    static func dump(pid: Int32) throws -> UtsnsEntry {
        let text = try NsHelper.run(pid: pid, join: ["uts"], what: "read uts names") {
            var u = utsname()
            guard uname(&u) == 0 else { throw EngineError("uname", errno: .init(rawValue: errno)) }
            func field<T>(_ t: T) -> String {
                withUnsafeBytes(of: t) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            }
            return field(u.nodename) + "\n" + field(u.__domainname)
        }
        let parts = text.split(separator: "\n", omittingEmptySubsequences: false)
        var e = UtsnsEntry()
        e.nodename = parts.first.map(String.init) ?? ""
        e.domainname = parts.count > 1 ? String(parts[1]) : ""
        return e
    }

    static func restore(_ e: UtsnsEntry) throws {
        var n = Array(e.nodename.utf8)
        if csys_sethostname(&n, n.count) < 0 {
            throw EngineError("sethostname \"\(e.nodename)\"", errno: .init(rawValue: errno))
        }
        var d = Array(e.domainname.utf8)
        if csys_setdomainname(&d, d.count) < 0 {
            throw EngineError("setdomainname \"\(e.domainname)\"", errno: .init(rawValue: errno))
        }
    }
}
