import Glibc
import CSys
import Images

/// A net namespace with loopback only: its links are listed, anything but lo is refused, and lo's flags
/// (up or down) are kept. Addresses, routes and sockets of other links are not handled.
enum NetNamespace {
    static let loopbackType = NdType.loopback

    static func dump(pid: Int32) throws -> NetDeviceEntry {
        let path = "/proc/\(pid)/net/dev"
        let text: String
        do { text = try ProcFile.readText(path) } catch {
            throw EngineError("read links", pid: pid, path: path, reason: "\(error)")
        }
        // Two header lines, then "  name: counters...".
        for line in text.split(separator: "\n").dropFirst(2) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: " ")
            if name != "lo" {
                throw EngineError("dump", pid: pid, reason: "its net namespace has link \"\(name)\"; only loopback is supported")
            }
        }
        let flags = try NsHelper.run(pid: pid, join: ["net"], what: "read lo flags") {
            let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { throw EngineError("socket", errno: .init(rawValue: errno)) }
            defer { close(s) }
            var f: Int16 = 0
            guard csys_if_get_flags(s, "lo", &f) == 0 else { throw EngineError("SIOCGIFFLAGS lo", errno: .init(rawValue: errno)) }
            return String(UInt16(bitPattern: f))
        }
        var e = NetDeviceEntry()
        e.type = loopbackType
        e.ifindex = 1
        e.mtu = 65536
        e.flags = UInt32(flags) ?? 0
        e.name = "lo"
        return e
    }

    /// In the restored root's fresh net namespace, whose lo starts down.
    static func restore(_ devices: [NetDeviceEntry]) throws {
        guard let lo = devices.first(where: { $0.name == "lo" }), lo.flags & UInt32(CSYS_IFF_UP) != 0 else { return }
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw EngineError("socket", errno: .init(rawValue: errno)) }
        defer { close(s) }
        var f: Int16 = 0
        guard csys_if_get_flags(s, "lo", &f) == 0 else { throw EngineError("SIOCGIFFLAGS lo", errno: .init(rawValue: errno)) }
        guard csys_if_set_flags(s, "lo", f | Int16(CSYS_IFF_UP)) == 0 else {
            throw EngineError("bring lo up (SIOCSIFFLAGS)", errno: .init(rawValue: errno))
        }
    }
}

private extension Substring {
    func trimmingCharacters(in c: Character) -> String {
        String(drop(while: { $0 == c }).reversed().drop(while: { $0 == c }).reversed())
    }
}
