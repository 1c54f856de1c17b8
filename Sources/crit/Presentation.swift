import Foundation

/// How CRIU's crit --pretty spells some integer fields; the format marks them in
/// its .proto options, which SwiftProtobuf does not carry, so they are listed here.
enum PrettyStyle {
    case hex
    case flags([(String, UInt64)])
    /// major:minor; `old` is glibc's dev_t split, otherwise major << 20 | minor.
    case dev(old: Bool)
    case names([UInt64: String])
    /// A list of 1 (IPv4) or 4 (IPv6) network-order words, shown as one address.
    case ip
}

enum FlagNames {
    static let mmapProt: [(String, UInt64)] = [("PROT_READ", 0x1), ("PROT_WRITE", 0x2), ("PROT_EXEC", 0x4)]
    static let mmapFlags: [(String, UInt64)] = [
        ("MAP_SHARED", 0x1), ("MAP_PRIVATE", 0x2), ("MAP_ANON", 0x20), ("MAP_GROWSDOWN", 0x100),
    ]
    static let vmaStatus: [(String, UInt64)] = [
        ("VMA_AREA_REGULAR", 1 << 0), ("VMA_AREA_STACK", 1 << 1), ("VMA_AREA_VSYSCALL", 1 << 2),
        ("VMA_AREA_VDSO", 1 << 3), ("VMA_AREA_HEAP", 1 << 5), ("VMA_FILE_PRIVATE", 1 << 6),
        ("VMA_FILE_SHARED", 1 << 7), ("VMA_ANON_SHARED", 1 << 8), ("VMA_ANON_PRIVATE", 1 << 9),
        ("VMA_AREA_SYSVIPC", 1 << 10), ("VMA_AREA_SOCKET", 1 << 11), ("VMA_AREA_VVAR", 1 << 12),
        ("VMA_AREA_AIORING", 1 << 13), ("VMA_UNSUPP", 1 << 31),
    ]
    static let openFlags: [(String, UInt64)] = [
        ("O_WRONLY", 0o1), ("O_RDWR", 0o2), ("O_CREAT", 0o100), ("O_EXCL", 0o200), ("O_NOCTTY", 0o400),
        ("O_TRUNC", 0o1000), ("O_APPEND", 0o2000), ("O_NONBLOCK", 0o4000), ("O_DSYNC", 0o10000),
        ("FASYNC", 0o20000), ("O_DIRECT", 0o40000), ("O_LARGEFILE", 0o100000), ("O_DIRECTORY", 0o200000),
        ("O_NOFOLLOW", 0o400000), ("O_NOATIME", 0o1000000), ("O_CLOEXEC", 0o2000000),
    ]
    static let seals: [(String, UInt64)] = [
        ("F_SEAL_SEAL", 0x1), ("F_SEAL_SHRINK", 0x2), ("F_SEAL_GROW", 0x4), ("F_SEAL_WRITE", 0x8),
        ("F_SEAL_FUTURE_WRITE", 0x10),
    ]
    static let pagemap: [(String, UInt64)] = [("PE_PARENT", 1), ("PE_LAZY", 2), ("PE_PRESENT", 4)]

    static let taskState: [UInt64: String] = [1: "Alive", 3: "Zombie", 6: "Stopped"]
    static let family: [UInt64: String] = [1: "UNIX", 2: "INET", 10: "INET6", 16: "NETLINK", 17: "PACKET"]
    static let sockType: [UInt64: String] = [1: "STREAM", 2: "DGRAM", 3: "RAW", 5: "SEQPACKET", 10: "PACKET"]
    static let state: [UInt64: String] = [
        1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
        7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
    ]
    static let proto: [UInt64: String] = [0: "IP", 6: "TCP", 17: "UDP", 136: "UDPLITE"]
}

private func hexAll(_ names: String...) -> [String: PrettyStyle] {
    Dictionary(uniqueKeysWithValues: names.map { ($0, PrettyStyle.hex) })
}

let prettyStyles: [String: [String: PrettyStyle]] = [
    "criu.TaskCoreEntry": hexAll("blk_sigset", "blk_sigset_extended", "membarrier_registration_mask")
        .merging(["task_state": .names(FlagNames.taskState)]) { a, _ in a },
    "criu.UserX86CetEntry": hexAll("cet", "ssp"),
    "criu.ThreadInfoX86": hexAll("clear_tid_addr", "gpregs"),
    "criu.SaEntry": hexAll("sigaction", "flags", "restorer", "mask", "mask_extended"),
    "criu.MmEntry": hexAll("mm_start_code", "mm_end_code", "mm_start_data", "mm_end_data", "mm_start_stack",
                           "mm_start_brk", "mm_brk", "mm_arg_start", "mm_arg_end", "mm_env_start", "mm_env_end"),
    "criu.VmaEntry": hexAll("start", "end", "madv", "fdflags").merging([
        "prot": .flags(FlagNames.mmapProt), "flags": .flags(FlagNames.mmapFlags), "status": .flags(FlagNames.vmaStatus),
    ]) { a, _ in a },
    "criu.PagemapEntry": ["vaddr": .hex, "flags": .flags(FlagNames.pagemap)],
    "criu.RegFileEntry": ["flags": .flags(FlagNames.openFlags)],
    "criu.MemfdFileEntry": ["flags": .flags(FlagNames.openFlags)],
    "criu.BpfmapFileEntry": ["flags": .flags(FlagNames.openFlags)],
    "criu.MemfdInodeEntry": ["seals": .flags(FlagNames.seals)],
    "criu.PipeEntry": hexAll("flags"),
    "criu.SignalfdEntry": hexAll("flags", "sigmask"),
    "criu.TimerfdEntry": hexAll("flags", "settime_flags"),
    "criu.InotifyWdEntry": hexAll("mask", "ignored_mask").merging(["s_dev": .dev(old: false)]) { a, _ in a },
    "criu.InotifyFileEntry": hexAll("flags"),
    "criu.FanotifyMarkEntry": hexAll("mflags", "mask", "ignored_mask").merging(["s_dev": .dev(old: false)]) { a, _ in a },
    "criu.FanotifyFileEntry": hexAll("flags", "faflags", "evflags"),
    "criu.TtyFileEntry": hexAll("flags"),
    "criu.UnixSkEntry": hexAll("flags", "uflags").merging([
        "type": .names(FlagNames.sockType), "state": .names(FlagNames.state),
    ]) { a, _ in a },
    "criu.InetSkEntry": hexAll("flags").merging([
        "family": .names(FlagNames.family), "type": .names(FlagNames.sockType),
        "proto": .names(FlagNames.proto), "state": .names(FlagNames.state),
        "src_addr": .ip, "dst_addr": .ip,
    ]) { a, _ in a },
    "criu.SitEntry": ["local": .ip, "remote": .ip, "rd_prefix": .ip, "relay_prefix": .ip],
    "criu.NetlinkSkEntry": hexAll("flags"),
    "criu.PacketSockEntry": hexAll("flags"),
    "criu.TcpStreamEntry": hexAll("opt_mask"),
    "criu.MntEntry": hexAll("flags", "sb_flags").merging(["root_dev": .dev(old: false)]) { a, _ in a },
    "criu.NetDeviceEntry": hexAll("flags"),
    "criu.TunLinkEntry": hexAll("flags"),
    "criu.GhostFileEntry": ["dev": .dev(old: false), "rdev": .dev(old: true)],
    "criu.IrmapCacheEntry": ["dev": .dev(old: true)],
]

enum Pretty {
    static func show(_ v: UInt64, _ style: PrettyStyle) -> JSONValue {
        switch style {
        case .hex, .ip: return .string("0x" + String(v, radix: 16))
        case .dev(let old):
            let (maj, min) = old
                ? ((v >> 8) & 0xfff | (v >> 32) & ~0xfff, (v & 0xff) | (v >> 12) & ~0xff)
                : (v >> 20, v & 0xfffff)
            return .string("\(maj):\(min)")
        case .flags(let table):
            var parts = table.filter { v & $0.1 != 0 }.map(\.0)
            let rest = v & ~table.reduce(0) { $0 | $1.1 }
            if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
            return .string(parts.joined(separator: " | "))
        case .names(let table):
            if let n = table[v] { return .string(n) }
            return .number(String(v))
        }
    }

    /// Back from a pretty string; nil when `s` is not in this style.
    static func parse(_ s: String, _ style: PrettyStyle) -> UInt64? {
        func number(_ t: Substring) -> UInt64? {
            let t = t.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("0x") { return UInt64(t.dropFirst(2), radix: 16) }
            return UInt64(t)
        }
        switch style {
        case .hex, .ip: return number(Substring(s))
        case .dev(let old):
            let p = s.split(separator: ":")
            guard p.count == 2, let maj = UInt64(p[0]), let min = UInt64(p[1]) else { return number(Substring(s)) }
            if old { return (maj & 0xfff) << 8 | (maj & ~0xfff) << 32 | (min & 0xff) | (min & ~0xff) << 12 }
            return maj << 20 | min
        case .flags(let table):
            if s.isEmpty { return 0 }
            var v: UInt64 = 0
            for part in s.split(separator: "|") {
                let name = part.trimmingCharacters(in: .whitespaces)
                if let f = table.first(where: { $0.0 == name }) { v |= f.1 } else if let n = number(part) { v |= n } else { return nil }
            }
            return v
        case .names(let table):
            return table.first { $0.value == s }?.key ?? number(Substring(s))
        }
    }

    /// Network-order words to an address string, as crit prints it (a one-element list).
    static func address(_ words: [UInt32]) -> JSONValue? {
        guard words.count == 1 || words.count == 4 else { return nil }
        var raw: [UInt8] = []
        for w in words { raw += [UInt8(w & 0xff), UInt8(w >> 8 & 0xff), UInt8(w >> 16 & 0xff), UInt8(w >> 24)] }
        var buf = [CChar](repeating: 0, count: 64)
        let family = words.count == 1 ? AF_INET : AF_INET6
        guard inet_ntop(family, raw, &buf, socklen_t(buf.count)) != nil else { return nil }
        let text = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return .array([.string(String(decoding: text, as: UTF8.self))])
    }

    static func words(fromAddress s: String) -> [UInt32]? {
        var raw = [UInt8](repeating: 0, count: 16)
        let n: Int
        if inet_pton(AF_INET, s, &raw) == 1 { n = 4 } else if inet_pton(AF_INET6, s, &raw) == 1 { n = 16 } else { return nil }
        return stride(from: 0, to: n, by: 4).map {
            UInt32(raw[$0]) | UInt32(raw[$0 + 1]) << 8 | UInt32(raw[$0 + 2]) << 16 | UInt32(raw[$0 + 3]) << 24
        }
    }
}
