import Glibc
import CSys
import Images

/// A task's fd table: each fd with the id of the file it refers to. Fds that share one open file
/// description (dup, inherited) share one id, found with kcmp(KCMP_FILE) (SharedFiles).
enum FileTable {

    /// `only` limits the table to some fds (tests whose child inherited unrelated fds). `shared` knows
    /// the descriptions earlier tasks of the tree hold: those are not written again.
    static func dump(pid: Int32, context: FileDumpContext, shellJob: Bool, only: Set<Int32>? = nil,
                     shared: SharedFiles = SharedFiles()) throws -> [FdinfoEntry] {
        var out: [FdinfoEntry] = []
        context.shellJob = shellJob
        for entry in try Fds.list(pid: pid) where only?.contains(entry.fd) ?? true {
            let fd = try inspect(pid: pid, entry)
            let dev = UInt64(fd.stat.st_dev), ino = UInt64(fd.stat.st_ino)
            var e = FdinfoEntry()
            e.fd = UInt32(fd.fd)
            e.flags = fd.closeOnExec ? UInt32(FD_CLOEXEC) : 0
            let (found, at) = try shared.find(pid: pid, fd: fd.fd, dev: dev, ino: ino)
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
                shared.add(.init(pid: pid, fd: fd.fd, id: e.id, type: e.type), dev: dev, ino: ino, at: at)
            }
            out.append(e)
        }
        return out
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
