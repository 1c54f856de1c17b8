import Glibc
import CSys
import Images

/// One lock as /proc prints it ("1: POSIX  ADVISORY  WRITE 18091 fe:00:16351236 10 14").
struct LockLine: Equatable {
    enum Kind: String { case posix = "POSIX", flock = "FLOCK", ofd = "OFDLCK" }
    var kind: Kind
    var write: Bool
    var start: Int64
    /// Last byte, nil up to EOF.
    var end: Int64?

    /// nil for a line that is not a held lock we know (a blocked request "->"); throws for a lease or
    /// anything unparsable, since saving the task without it would lose it silently.
    static func parse(_ line: String) throws(ProcError) -> LockLine? {
        let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard w.count >= 2 else { throw .malformed("fdinfo lock", "\"\(line)\"") }
        if w[1] == "->" { return nil }
        guard w.count >= 8 else { throw .malformed("fdinfo lock", "\"\(line)\"") }
        guard let kind = Kind(rawValue: String(w[1])) else {
            throw .malformed("fdinfo lock", "\(w[1]) locks are not supported (\"\(line)\")")
        }
        let write: Bool
        switch w[3] {
        case "WRITE": write = true
        case "READ": write = false
        default: throw .malformed("fdinfo lock", "lock type \(w[3]) is not supported (\"\(line)\")")
        }
        guard let start = Int64(w[6]) else { throw .malformed("fdinfo lock", "bad start in \"\(line)\"") }
        var end: Int64?
        if w[7] != "EOF" {
            guard let e = Int64(w[7]), e >= start else { throw .malformed("fdinfo lock", "bad end in \"\(line)\"") }
            end = e
        }
        return LockLine(kind: kind, write: write, start: start, end: end)
    }

    /// CRIU's FL_POSIX / FL_FLOCK / FL_OFD.
    var flag: UInt32 { switch kind { case .posix: 1; case .flock: 2; case .ofd: 4 } }
    /// 0 means up to EOF, as in struct flock.
    var len: Int64 { end.map { $0 - start + 1 } ?? 0 }
}

/// Locks the dumped tasks hold, read from the "lock:" lines of each fd's fdinfo: the kernel lists there
/// the POSIX locks the task owns that were taken through this open file description, and the OFD and
/// flock locks of the description itself. Waiting requests are not listed; a waiter re-enters its
/// F_SETLKW/flock after restore because its interrupted syscall restarts.
final class FileLockCollector {
    private var pending: [(fd: Int32, link: String, line: String)] = []
    /// Locks already saved: POSIX ones per task, OFD/flock ones per open file description.
    private var saved: Set<String> = []
    private(set) var count = 0

    /// Remembers the fd's lock lines while FileTable walks the task's fds.
    func note(_ fd: OpenFd) {
        for v in fd.info.values("lock") { pending.append((fd.fd, fd.link, v)) }
    }

    /// Turns the task's noted lines into filelocks.img entries once its fds have their final file ids.
    /// Without --file-locks any held lock fails the dump, naming the task and fd.
    func resolve(pid: Int32, fdinfo: [FdinfoEntry], enabled: Bool, context: FileDumpContext) throws {
        defer { pending.removeAll() }
        let ids = Dictionary(fdinfo.map { (Int32(bitPattern: $0.fd), $0.id) }, uniquingKeysWith: { a, _ in a })
        for p in pending {
            let lock: LockLine
            do {
                guard let l = try LockLine.parse(p.line) else { continue }
                lock = l
            } catch {
                throw EngineError("dump file lock", pid: pid, fd: p.fd, path: p.link, reason: "\(error)")
            }
            guard enabled else {
                throw EngineError("dump", pid: pid, fd: p.fd, path: p.link,
                                  reason: "holds a \(FileLocks.describe(lock)); pass --file-locks to dump file locks")
            }
            guard let id = ids[p.fd] else { continue }
            let owner = lock.kind == .posix ? "p\(pid)" : "f\(id)"
            guard saved.insert("\(owner):\(lock.kind):\(lock.write):\(lock.start):\(lock.len)").inserted else { continue }
            var e = FileLockEntry()
            e.flag = lock.flag
            e.type = UInt32(lock.write ? F_WRLCK : F_RDLCK)
            e.pid = TreePids.innerPid(pid)
            e.fd = p.fd
            e.start = lock.start
            e.len = lock.len
            try context.addImage(FileLocks.image, ImageKind.byName("FILE_LOCKS")!, e)
            count += 1
        }
    }
}

/// Restore side: each lock is taken again inside its task by an injected fcntl/flock, after the memory
/// is back and every helper fd is closed. Closing any fd of a file drops the POSIX locks the process
/// holds on it, so taking them earlier (in the forked child) would lose those on a mapped file.
enum FileLocks {
    static let image = "filelocks.img"

    static func describe(_ l: LockLine) -> String {
        let range = l.kind == .flock ? "" : " on bytes \(l.start)-\(l.end.map(String.init) ?? "EOF")"
        return "\(l.kind == .posix ? "POSIX" : l.kind == .ofd ? "OFD" : "flock") \(l.write ? "write" : "read") lock\(range)"
    }

    static func describe(_ e: FileLockEntry) -> String {
        let kind: LockLine.Kind = e.flag == 1 ? .posix : e.flag == 2 ? .flock : .ofd
        return describe(LockLine(kind: kind, write: e.type == UInt32(F_WRLCK), start: e.start,
                                 end: e.len == 0 ? nil : e.start + e.len - 1))
    }

    /// filelocks.img by task, checked against the tree. Locks in the images without --file-locks fail
    /// the restore: a task that believes it holds a lock must not run without it.
    static func read(_ dir: ImageDir, tree: TreeImages, enabled: Bool) throws -> [Int32: [FileLockEntry]] {
        guard dir.exists(image) else { return [:] }
        let entries = try dir.readAll(image, ImageKind.byName("FILE_LOCKS")!, as: FileLockEntry.self)
        guard !entries.isEmpty else { return [:] }
        guard enabled else {
            throw EngineError("restore", path: dir.file(image),
                              reason: "the images hold \(entries.count) file locks; pass --file-locks to restore them")
        }
        var out: [Int32: [FileLockEntry]] = [:]
        for e in entries {
            func bad(_ why: String) -> EngineError { EngineError("check images", pid: e.pid, fd: e.fd, path: dir.file(image), reason: why) }
            guard [1, 2, 4].contains(e.flag) else { throw bad("lock kind \(e.flag) is not supported (POSIX 1, flock 2, OFD 4)") }
            guard e.type == UInt32(F_RDLCK) || e.type == UInt32(F_WRLCK) else { throw bad("lock type \(e.type) is neither read nor write") }
            guard e.start >= 0, e.len >= 0 else { throw bad("lock range \(e.start)+\(e.len) is negative") }
            guard let task = tree.live[e.pid] else { throw bad("the lock's task is not a live task of the tree") }
            guard task.fdinfo.contains(where: { Int32(bitPattern: $0.fd) == e.fd }) else { throw bad("the task has no such fd") }
            out[e.pid, default: []].append(e)
        }
        return out
    }

    static func restore(_ r: Remote, _ locks: [FileLockEntry]) throws {
        for e in locks {
            let res: Int64
            if e.flag == 2 {
                let op = (e.type == UInt32(F_WRLCK) ? LOCK_EX : LOCK_SH) | LOCK_NB
                res = try r.raw(Int32(SYS_flock), UInt64(e.fd), UInt64(op))
            } else {
                var l = csys_flock()
                l.l_type = Int16(e.type)
                l.l_whence = Int16(SEEK_SET)
                l.l_start = e.start
                l.l_len = e.len
                l.l_pid = 0
                r.zero(MemoryLayout<csys_flock>.size)
                r.store(l, at: 0)
                let cmd = e.flag == 1 ? F_SETLK : CSYS_F_OFD_SETLK
                res = try r.raw(Int32(SYS_fcntl), UInt64(e.fd), UInt64(cmd), r.addr(0))
            }
            if res < 0 {
                let err = Int32(-res)
                throw EngineError("restore file lock", pid: r.pid, fd: e.fd, errno: .init(rawValue: err),
                                  reason: "\(describe(e))" + (err == EAGAIN ? ": another process holds a conflicting lock" : ""))
            }
        }
    }
}
