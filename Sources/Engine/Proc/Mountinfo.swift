/// One line of /proc/PID/mountinfo (see proc(5)): where a mount sits in the tree, what it shows, and
/// its propagation. File descriptors name their mount by `mnt_id`, which is `mountId` here.
public struct MountInfo: Equatable, Sendable {
    public var mountId: Int32
    public var parentId: Int32
    public var devMajor: UInt32
    public var devMinor: UInt32
    /// The directory of the filesystem that is the root of this mount (octal escapes decoded).
    public var root: String
    public var mountPoint: String
    /// Per-mount options ("rw,nosuid,relatime").
    public var options: String
    /// Peer group this mount shares propagation with ("shared:N").
    public var shared: Int32?
    /// Peer group this mount receives propagation from ("master:N").
    public var master: Int32?
    public var propagateFrom: Int32?
    public var unbindable: Bool
    /// Optional fields we do not know, verbatim.
    public var otherOptionalFields: [String]
    public var fsType: String
    public var source: String
    public var superOptions: String
}

public enum Mountinfo {
    public static func parse(_ text: String, source: String = "mountinfo") throws(ProcError) -> [MountInfo] {
        var out: [MountInfo] = []
        for line in TextFields.lines(text) {
            out.append(try parseLine(line, source: source))
        }
        return out
    }

    static func parseLine(_ line: Substring, source: String) throws(ProcError) -> MountInfo {
        // Fields are separated by single spaces; spaces inside names are escaped as \040, so split is exact.
        let f = line.split(separator: " ", omittingEmptySubsequences: false)
        guard let dash = f.firstIndex(of: "-"), dash >= 6, f.count >= dash + 3 else {
            throw .malformed(source, "mountinfo line: \"\(line)\"")
        }
        let (ma, mi) = try TextFields.devPair(f[2], radix: 10, source)
        var m = MountInfo(
            mountId: try TextFields.dec(f[0], source, "mount id"),
            parentId: try TextFields.dec(f[1], source, "parent id"),
            devMajor: ma, devMinor: mi,
            root: TextFields.unescapeOctal(f[3]),
            mountPoint: TextFields.unescapeOctal(f[4]),
            options: String(f[5]),
            shared: nil, master: nil, propagateFrom: nil, unbindable: false, otherOptionalFields: [],
            fsType: TextFields.unescapeOctal(f[dash + 1]),
            source: TextFields.unescapeOctal(f[dash + 2]),
            superOptions: f.count > dash + 3 ? String(f[dash + 3]) : "")
        for opt in f[6..<dash] where !opt.isEmpty {
            if opt == "unbindable" {
                m.unbindable = true
            } else if let colon = opt.firstIndex(of: ":") {
                let name = opt[opt.startIndex..<colon]
                let n: Int32 = try TextFields.dec(opt[opt.index(after: colon)...], source, String(name))
                switch name {
                case "shared": m.shared = n
                case "master": m.master = n
                case "propagate_from": m.propagateFrom = n
                default: m.otherOptionalFields.append(String(opt))
                }
            } else {
                m.otherOptionalFields.append(String(opt))
            }
        }
        return m
    }

    public static func read(pid: Int32) throws(ProcError) -> [MountInfo] {
        let path = "/proc/\(pid)/mountinfo"
        return try parse(ProcFile.readText(path), source: path)
    }
}
