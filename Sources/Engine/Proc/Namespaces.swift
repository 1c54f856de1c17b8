/// The namespaces a task lives in, from the /proc/PID/ns/NAME links ("net:[4026531840]"). Comparing
/// them with our own tells whether a task shares criu's namespaces, which the first dump requires.
public struct NamespaceId: Equatable, Sendable {
    public var name: String
    public var inode: UInt64
}

public enum Namespaces {
    /// "net:[4026531840]" -> ("net", 4026531840).
    public static func parseLink(_ link: String, source: String = "ns") throws(ProcError) -> NamespaceId {
        guard case .kernelObject(let type, let inode) = FdTarget.parse(link) else {
            throw .malformed(source, "namespace link: \"\(link)\"")
        }
        return NamespaceId(name: type, inode: inode)
    }

    /// Every namespace link the kernel offers for the task, sorted by name. Links that cannot be read
    /// on this kernel (a namespace kind compiled out) are left out.
    public static func read(pid: Int32) throws(ProcError) -> [NamespaceId] {
        var out: [NamespaceId] = []
        for name in try ProcFile.listDirectory("/proc/\(pid)/ns").sorted() {
            let path = "/proc/\(pid)/ns/\(name)"
            let link: String
            do {
                link = try ProcFile.readLink(path)
            } catch let e where e.errno == .noSuchFileOrDirectory {
                continue
            }
            var id = try parseLink(link, source: path)
            // pid_for_children and time_for_children name the link, not the namespace kind.
            id.name = name
            out.append(id)
        }
        return out
    }
}
