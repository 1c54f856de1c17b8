import Glibc
import CSys
import Images

/// fanotify: the group's init flags and event-file flags, and every mark, from fdinfo. Inode marks are
/// named by a file handle, resolved at dump to a path as inotify watches are; mount marks by mount id,
/// kept as the mount point from the task's mountinfo (ids change across a restore, paths do not).
/// Restore makes a new group while the fds are placed; its marks come back at the end, injected
/// (restoreMarks). Events queued at dump
/// time, and permission events waiting for an answer, are lost; filesystem (FAN_MARK_FILESYSTEM) marks
/// fail the dump, since the image format has no kind for them.
enum FanotifyFile: FileKind {
    static let type = FdTypes.fanotify
    static let name = "fanotify"

    static func matches(_ fd: OpenFd) -> Bool { fd.target == .anonInode("fanotify") }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var e = FanotifyFileEntry()
        e.id = context.newId()
        e.flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        e.fown = try FileOwner.dump(local, fd: fd)
        var sawHeader = false
        for line in fd.info.values("fanotify") {
            let t = Fdinfo.tokens(line)
            func hex(_ k: String) -> UInt64? { t.first { $0.key == k }.flatMap { UInt64($0.value, radix: 16) } }
            func bad(_ why: String) -> EngineError {
                EngineError("dump fanotify", pid: fd.pid, fd: fd.fd, reason: "\(why): \"fanotify \(line)\"")
            }
            if let flags = hex("flags"), let ev = hex("event-flags") {
                e.faflags = UInt32(truncatingIfNeeded: flags)
                e.evflags = UInt32(truncatingIfNeeded: ev)
                sawHeader = true
                continue
            }
            guard let mflags = hex("mflags"), let mask = hex("mask"), let ignored = hex("ignored_mask") else {
                throw bad("unexpected fdinfo line")
            }
            var m = FanotifyMarkEntry()
            m.id = e.id
            m.mflags = UInt32(truncatingIfNeeded: mflags)
            m.mask = UInt32(truncatingIfNeeded: mask)
            m.ignoredMask = UInt32(truncatingIfNeeded: ignored)
            if let ino = hex("ino") {
                guard let sdev = hex("sdev"), let bytes = hex("fhandle-bytes"), let htype = hex("fhandle-type"),
                      let handle = t.first(where: { $0.key == "f_handle" })?.value else { throw bad("incomplete inode mark") }
                let raw = InotifyFile.hexBytes(handle)
                var fh = FhEntry()
                fh.bytes = UInt32(bytes)
                fh.type = UInt32(htype)
                fh.handle = stride(from: 0, to: raw.count, by: 8).map { i in
                    raw[i..<min(i + 8, raw.count)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                }
                do {
                    fh.path = try InotifyFile.resolve(pid: fd.pid, sdev: UInt32(truncatingIfNeeded: sdev), ino: ino,
                                                      type: Int32(htype), handle: raw)
                } catch {
                    throw bad("no path found for the marked inode \(ino)")
                }
                var ie = FanotifyInodeMarkEntry()
                ie.iIno = ino
                ie.fHandle = fh
                m.type = .inode
                m.sDev = UInt32(truncatingIfNeeded: sdev)
                m.ie = ie
            } else if let mnt = hex("mnt_id") {
                let mounts = (try? Mountinfo.parse(ProcFile.readText("/proc/\(fd.pid)/mountinfo"))) ?? []
                guard let mp = mounts.first(where: { Int64($0.mountId) == Int64(mnt) }) else {
                    throw bad("mount \(mnt) is not in the task's mountinfo")
                }
                var me = FanotifyMountMarkEntry()
                me.mntID = UInt32(truncatingIfNeeded: mnt)
                me.path = mp.mountPoint
                m.type = .mount
                m.sDev = mp.devMajor << 20 | mp.devMinor
                m.me = me
            } else {
                throw bad("filesystem marks (FAN_MARK_FILESYSTEM) are not supported")
            }
            e.mark.append(m)
        }
        guard sawHeader else {
            throw EngineError("dump fanotify", pid: fd.pid, fd: fd.fd, reason: "fdinfo has no \"fanotify flags:\" line")
        }
        var f = FileEntry()
        f.type = .fanotify
        f.id = e.id
        f.ffy = e
        context.add(f)
        return e.id
    }

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let e = f.ffy
        // Exactly the dumped init flags, FAN_CLOEXEC and FAN_NONBLOCK included: fdinfo shows them as
        // given. Close-on-exec is set per fd number when the fd is placed; F_SETFL below has the last word
        // on O_NONBLOCK (the task may have changed it since).
        let fd = csys_sys_fanotify_init(e.faflags, e.evflags)
        guard fd >= 0 else {
            throw EngineError("fanotify_init flags \(hex(e.faflags)) event-flags \(hex(e.evflags))", errno: .init(rawValue: errno))
        }
        do { try FileOwner.restore(fd, e.fown, flags: e.flags) } catch {
            close(fd)
            throw error
        }
        return fd
    }

    private static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    /// One fanotify_mark(2) call: FAN_MARK_ADD flags, mask, path.
    struct MarkCall: Equatable {
        var flags: UInt32
        var mask: UInt32
        var path: String
    }

    /// The calls that give a new group the dumped marks. The mask and the ignored mask are added by
    /// separate calls (one call sets one of them); a mark made with FAN_MARK_IGNORE (shown in mflags) gets
    /// its ignore mask back the same way, an older-style one through FAN_MARK_IGNORED_MASK.
    static func markCalls(_ e: FanotifyFileEntry) -> [MarkCall] {
        var out: [MarkCall] = []
        for m in e.mark {
            let path = m.type == .mount ? m.me.path : m.ie.fHandle.path
            let base = UInt32(CSYS_FAN_MARK_ADD) | (m.type == .mount ? UInt32(CSYS_FAN_MARK_MOUNT) : 0)
                | (m.mflags & UInt32(CSYS_FAN_MARK_EVICTABLE))
            if m.mask != 0 { out.append(MarkCall(flags: base, mask: m.mask, path: path)) }
            if m.ignoredMask != 0 {
                let how = m.mflags & UInt32(CSYS_FAN_MARK_IGNORE) != 0 ? UInt32(CSYS_FAN_MARK_IGNORE) : UInt32(CSYS_FAN_MARK_IGNORED_MASK)
                out.append(MarkCall(flags: base | how | (m.mflags & UInt32(CSYS_FAN_MARK_IGNORED_SURV_MODIFY)),
                                    mask: m.ignoredMask, path: path))
            }
        }
        return out
    }

    /// Adds the marks to a group open in this process.
    static func addMarks(_ fd: Int32, _ e: FanotifyFileEntry) throws {
        for c in markCalls(e) where csys_sys_fanotify_mark(fd, c.flags, UInt64(c.mask), AT_FDCWD, c.path) < 0 {
            throw EngineError("fanotify_mark flags \(hex(c.flags)) mask \(hex(c.mask))", path: c.path, errno: .init(rawValue: errno))
        }
    }

    /// Which restored task adds the marks of which group: the first task (pstree order) holding it that
    /// did not inherit it from its parent, at one of its fd numbers.
    static func markOwners(_ tree: TreeImages) -> [Int32: [(fd: Int32, entry: FanotifyFileEntry)]] {
        var out: [Int32: [(fd: Int32, entry: FanotifyFileEntry)]] = [:]
        var done = Set<UInt32>()
        for ps in tree.entries {
            guard let set = tree.live[Int32(bitPattern: ps.pid)] else { continue }
            let parentIds = Set(tree.live[Int32(bitPattern: ps.ppid)]?.fdinfo.map(\.id) ?? [])
            for fd in set.fdinfo where fd.type == .fanotify && !parentIds.contains(fd.id) && done.insert(fd.id).inserted {
                guard let f = set.files[fd.id], f.hasFfy else { continue }
                out[set.pid, default: []].append((Int32(bitPattern: fd.fd), f.ffy))
            }
        }
        return out
    }

    /// Marks are added by injected fanotify_mark once the task's memory is back and its helper fds are
    /// closed: a permission mark (FAN_OPEN_PERM ...) present while the restore still opens files (the
    /// task's other fds, its pages image, exe and mapped files) would block that open for an answer the
    /// stopped task can never give.
    static func restoreMarks(_ r: Remote, _ groups: [(fd: Int32, entry: FanotifyFileEntry)]) throws {
        for g in groups {
            for c in markCalls(g.entry) {
                let bytes = Array(c.path.utf8) + [0]
                guard bytes.count <= r.local.count else {
                    throw EngineError("restore fanotify mark", pid: r.pid, fd: g.fd, path: c.path, reason: "path too long to pass")
                }
                r.storeBytes(bytes, at: 0)
                let res = try r.raw(Int32(SYS_fanotify_mark), UInt64(g.fd), UInt64(c.flags), UInt64(c.mask),
                                    UInt64(bitPattern: Int64(AT_FDCWD)), r.addr(0))
                if res < 0 {
                    throw EngineError("restore fanotify mark flags \(hex(c.flags)) mask \(hex(c.mask))", pid: r.pid, fd: g.fd,
                                      path: c.path, errno: .init(rawValue: Int32(-res)))
                }
            }
        }
    }
}
