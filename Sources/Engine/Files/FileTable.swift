import Glibc
import CSys
import Images

/// A task's fd table: each fd with the id of the file it refers to. Fds that share one open file
/// description (dup, inherited) share one id, found with kcmp(KCMP_FILE).
enum FileTable {
    private static let kcmpFile: Int32 = 0

    /// `only` limits the table to some fds (tests whose child inherited unrelated fds).
    static func dump(pid: Int32, context: FileDumpContext, shellJob: Bool, only: Set<Int32>? = nil) throws -> [FdinfoEntry] {
        var out: [FdinfoEntry] = []
        context.shellJob = shellJob
        // Per (dev, ino), the files seen so far in kcmp order: anon inodes (eventfd, timerfd, epoll ...)
        // all share one inode, so a linear kcmp scan would make the dump quadratic in the fd count.
        var seen: [String: [(fd: Int32, id: UInt32, type: FdTypes)]] = [:]
        for entry in try Fds.list(pid: pid) where only?.contains(entry.fd) ?? true {
            let fd = try inspect(pid: pid, entry)
            context.locks.note(fd)
            let dev = UInt64(fd.stat.st_dev), ino = UInt64(fd.stat.st_ino)
            var e = FdinfoEntry()
            e.fd = UInt32(fd.fd)
            e.flags = fd.closeOnExec ? UInt32(FD_CLOEXEC) : 0
            let key = "\(dev):\(ino)"
            let bucket = seen[key] ?? []
            let (found, at) = try search(pid: pid, fd: fd.fd, in: bucket)
            if let same = found {
                e.id = same.id
                e.type = same.type
            } else {
                guard let kind = FileKinds.all.first(where: { $0.matches(fd) }) else {
                    let what = FileKinds.describe(fd)
                    let hint = what == "terminal" && !shellJob ? "; use --shell-job for a task on a terminal" : ""
                    throw EngineError("dump", pid: pid, fd: fd.fd,
                                      reason: "\(what) (\(fd.link)) is not supported yet\(hint)")
                }
                e.id = try kind.dump(fd, context: context)
                e.type = kind.type
                seen[key, default: []].insert((fd.fd, e.id, e.type), at: at)
            }
            out.append(e)
        }
        return out
    }

    /// Binary search by kcmp(KCMP_FILE), which orders open files: the file equal to `fd`'s, or where
    /// it belongs.
    private static func search(pid: Int32, fd: Int32, in bucket: [(fd: Int32, id: UInt32, type: FdTypes)])
        throws -> ((fd: Int32, id: UInt32, type: FdTypes)?, Int) {
        var lo = 0, hi = bucket.count
        while lo < hi {
            let mid = (lo + hi) / 2
            switch csys_sys_kcmp(pid, pid, kcmpFile, UInt(fd), UInt(bucket[mid].fd)) {
            case 0: return (bucket[mid], mid)
            case 1: hi = mid
            case 2: lo = mid + 1
            default: throw EngineError("kcmp", pid: pid, fd: fd, errno: .init(rawValue: errno))
            }
        }
        return (nil, lo)
    }

    static func inspect(pid: Int32, _ entry: FdEntry) throws -> OpenFd {
        let info = try Fdinfo.read(pid: pid, fd: entry.fd)
        var st = stat()
        let path = "/proc/\(pid)/fd/\(entry.fd)"
        if csys_stat(path, &st) != 0 {
            throw EngineError("stat", pid: pid, fd: entry.fd, path: entry.link, errno: .init(rawValue: errno))
        }
        return OpenFd(pid: pid, fd: entry.fd, link: entry.link, target: entry.target, info: info, stat: st,
                      closeOnExec: info.flags & UInt32(O_CLOEXEC) != 0)
    }
}
