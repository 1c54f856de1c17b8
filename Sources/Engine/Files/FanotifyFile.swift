import Glibc
import CSys
import Images

/// fanotify: the group's init flags and event-file flags, and every mark, from fdinfo. Inode marks are
/// named by a file handle, resolved at dump to a path as inotify watches are; mount marks by mount id,
/// kept as the mount point from the task's mountinfo (ids change across a restore, paths do not).
/// Restore makes a new group and adds each mark's mask and ignored mask again. Events queued at dump
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
        let initFlags = e.faflags
        let fd = csys_sys_fanotify_init(initFlags, e.evflags)
        guard fd >= 0 else {
            throw EngineError("fanotify_init flags \(hex(initFlags)) event-flags \(hex(e.evflags))", errno: .init(rawValue: errno))
        }
        do {
            for m in e.mark { try addMark(fd, m) }
            try FileOwner.restore(fd, e.fown, flags: e.flags)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    private static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    /// The mask and the ignored mask are added by separate calls: one call sets one of them. A mark made
    /// with FAN_MARK_IGNORE (shown in mflags) gets its ignore mask back the same way, an older-style one
    /// through FAN_MARK_IGNORED_MASK.
    private static func addMark(_ fd: Int32, _ m: FanotifyMarkEntry) throws {
        let path = m.type == .mount ? m.me.path : m.ie.fHandle.path
        let base = UInt32(CSYS_FAN_MARK_ADD) | (m.type == .mount ? UInt32(CSYS_FAN_MARK_MOUNT) : 0)
            | (m.mflags & UInt32(CSYS_FAN_MARK_EVICTABLE))
        func mark(_ flags: UInt32, _ mask: UInt32) throws {
            if csys_sys_fanotify_mark(fd, flags, UInt64(mask), AT_FDCWD, path) < 0 {
                throw EngineError("fanotify_mark flags \(hex(flags)) mask \(hex(mask))", path: path, errno: .init(rawValue: errno))
            }
        }
        if m.mask != 0 { try mark(base, m.mask) }
        if m.ignoredMask != 0 {
            let how = m.mflags & UInt32(CSYS_FAN_MARK_IGNORE) != 0 ? UInt32(CSYS_FAN_MARK_IGNORE) : UInt32(CSYS_FAN_MARK_IGNORED_MASK)
            try mark(base | how | (m.mflags & UInt32(CSYS_FAN_MARK_IGNORED_SURV_MODIFY)), m.ignoredMask)
        }
    }
}
