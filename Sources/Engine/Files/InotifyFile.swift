import Glibc
import CSys
import Images

/// inotify: every watch (wd, mask, watched inode) from fdinfo. The inode is named by a file handle;
/// the dump also resolves the handle to a path (open_by_handle_at on a mount of the same filesystem)
/// and restore watches that path. Watch descriptors are handed out in increasing order, so restore
/// adds and removes watches until each gets its dumped number. Events queued at dump time are lost.
enum InotifyFile: FileKind {
    static let type = FdTypes.inotify
    static let name = "inotify"

    static func matches(_ fd: OpenFd) -> Bool { fd.target == .anonInode("inotify") }

    static func dump(_ fd: OpenFd, context: FileDumpContext) throws -> UInt32 {
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        var e = InotifyFileEntry()
        e.id = context.newId()
        e.flags = fd.info.flags & ~UInt32(O_CLOEXEC)
        e.fown = try FileOwner.dump(local, fd: fd)
        for line in fd.info.values("inotify") {
            let t = Fdinfo.tokens(line)
            func hex(_ k: String) -> UInt64? { t.first { $0.key == k }.flatMap { UInt64($0.value, radix: 16) } }
            guard let wd = hex("wd"), let ino = hex("ino"), let sdev = hex("sdev"), let mask = hex("mask"),
                  let bytes = hex("fhandle-bytes"), let htype = hex("fhandle-type"),
                  let handle = t.first(where: { $0.key == "f_handle" })?.value else {
                throw EngineError("dump inotify", pid: fd.pid, fd: fd.fd, reason: "unexpected fdinfo line \"inotify \(line)\"")
            }
            var w = InotifyWdEntry()
            w.id = e.id
            w.wd = UInt32(wd)
            w.iIno = ino
            w.mask = UInt32(truncatingIfNeeded: mask)
            w.ignoredMask = UInt32(truncatingIfNeeded: hex("ignored_mask") ?? 0)
            w.sDev = UInt32(truncatingIfNeeded: sdev)
            var fh = FhEntry()
            fh.bytes = UInt32(bytes)
            fh.type = UInt32(htype)
            let raw = hexBytes(handle)
            fh.handle = stride(from: 0, to: raw.count, by: 8).map { i in
                raw[i..<min(i + 8, raw.count)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            }
            fh.path = try resolve(pid: fd.pid, sdev: UInt32(truncatingIfNeeded: sdev), ino: ino, type: Int32(htype), handle: raw)
            w.fHandle = fh
            e.wd.append(w)
        }
        var f = FileEntry()
        f.type = .inotify
        f.id = e.id
        f.ify = e
        context.add(f)
        return e.id
    }

    static func hexBytes(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        return stride(from: 0, to: u.count - 1, by: 2).compactMap { UInt8(String(decoding: u[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }

    /// The watched inode's path as the dumping process sees it: open its handle through each of the
    /// task's mounts of that device (kernel dev_t: major << 20 | minor).
    static func resolve(pid: Int32, sdev: UInt32, ino: UInt64, type: Int32, handle: [UInt8]) throws -> String {
        let major = sdev >> 20, minor = sdev & 0xfffff
        let mounts = (try? Mountinfo.parse(ProcFile.readText("/proc/\(pid)/mountinfo"))) ?? []
        var buf = [UInt8](repeating: 0, count: 8 + handle.count)
        withUnsafeBytes(of: UInt32(handle.count).littleEndian) { buf.replaceSubrange(0..<4, with: $0) }
        withUnsafeBytes(of: type.littleEndian) { buf.replaceSubrange(4..<8, with: $0) }
        buf.replaceSubrange(8..., with: handle)
        for m in mounts where m.devMajor == major && m.devMinor == minor {
            // open_by_handle_at refuses an O_PATH mount fd.
            let mfd = csys_open("/proc/\(pid)/root\(m.mountPoint)", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
            guard mfd >= 0 else { continue }
            defer { close(mfd) }
            let fd = buf.withUnsafeMutableBytes { csys_sys_open_by_handle_at(mfd, $0.baseAddress, O_PATH_ | O_CLOEXEC) }
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            guard csys_fstat(fd, &st) == 0, UInt64(st.st_ino) == ino,
                  let path = try? ProcFile.readLink("/proc/self/fd/\(fd)"), path.hasPrefix("/") else { continue }
            return path
        }
        throw EngineError("dump inotify", pid: pid, reason: "cannot find a path for watched inode \(ino) on device \(major):\(minor)")
    }

    static let O_PATH_ = Int32(CSYS_O_PATH)

    static func open(_ f: FileEntry, context: FileRestoreContext) throws -> Int32 {
        let e = f.ify
        let fd = csys_sys_inotify_init1(CSYS_IN_CLOEXEC | CSYS_IN_NONBLOCK)
        guard fd >= 0 else { throw EngineError("inotify_init1", errno: .init(rawValue: errno)) }
        for w in e.wd.sorted(by: { $0.wd < $1.wd }) {
            let path = w.fHandle.path
            var wd: Int32 = -1
            // Each new watch takes the next number; add and drop watches until the dumped one comes up.
            for _ in 0..<65536 {
                wd = csys_sys_inotify_add_watch(fd, path, w.mask)
                guard wd >= 0 else { throw EngineError("inotify_add_watch", path: path, errno: .init(rawValue: errno)) }
                if UInt32(wd) >= w.wd { break }
                _ = csys_sys_inotify_rm_watch(fd, wd)
            }
            guard UInt32(wd) == w.wd else {
                throw EngineError("inotify_add_watch", path: path, reason: "got watch \(wd), want \(w.wd)")
            }
        }
        // Removing watches queued IN_IGNORED events the task never saw.
        var buf = [UInt8](repeating: 0, count: 4096)
        while buf.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
        try FileOwner.restore(fd, e.fown, flags: e.flags)
        return fd
    }
}
