import Glibc
import CSys
import Compel
import Images

/// Fills the private anonymous memory of a task being restored from criu's side with UFFDIO_COPY: the
/// kernel allocates each page and copies the image's bytes into it, without first zeroing it and
/// without a page fault per page, as a preadv in the task costs. Measured on 1 GiB (docs/benchmarks.md):
/// ~40% less CPU than pread into fresh anonymous memory.
///
/// The userfaultfd is made inside the task (its mm is the one the fd serves), taken here with
/// pidfd_getfd and closed there at once. Every VMA it fills is registered for missing pages only while
/// the copy runs and unregistered after, so nothing of it stays in the task (smaps VmFlags show no "um").
/// The source is a read-only mapping of the pages image in criu.
final class UffdFill {
    private let pid: Int32
    private let uffd: Int32
    private let source: UnsafeMutableRawPointer
    private let sourceSize: Int
    private let path: String
    private var registered: [(start: UInt64, end: UInt64)] = []

    private init(pid: Int32, uffd: Int32, source: UnsafeMutableRawPointer, sourceSize: Int, path: String) {
        self.pid = pid
        self.uffd = uffd
        self.source = source
        self.sourceSize = sourceSize
        self.path = path
    }

    deinit {
        for v in registered { unregister(v.start, v.end) }
        munmap(source, sourceSize)
        close(uffd)
    }

    /// VMAs whose pages go by UFFDIO_COPY: private anonymous ones (heap and stack included). Not those
    /// madvised MADV_HUGEPAGE: a fault in the task can give them a huge page again, a copy gives 4 KiB
    /// pages.
    static func suits(_ v: VmaEntry) -> Bool {
        let madvHugepage: UInt64 = 1 << 14
        return v.status & VmaStatus.anonPrivate != 0 && v.flags & UInt32(MAP_SHARED) == 0
            && (!v.hasMadv || v.madv & madvHugepage == 0)
    }

    /// A filler for `vmas` (already mapped in the task), or nil where userfaultfd cannot be used here
    /// (no kernel support, a seccomp filter in the way, ...): the caller then reads every page by preadv.
    static func open(_ r: Remote, vmas: [(start: UInt64, end: UInt64)], pagesPath: String) -> UffdFill? {
        guard !vmas.isEmpty else { return nil }
        let inTask = (try? r.raw(Int32(SYS_userfaultfd), UInt64(O_CLOEXEC) | UInt64(CSYS_UFFD_USER_MODE_ONLY))) ?? -1
        guard inTask >= 0 else { return nil }
        let ours = try? r.task.takeFd(Int32(inTask))
        _ = try? r.raw(Int32(SYS_close), UInt64(inTask))
        guard let ours else { return nil }
        var api = uffdio_api()
        api.api = CSYS_UFFD_API
        guard csys_ioctl(ours.rawValue, CSYS_UFFDIO_API, &api) == 0 else {
            close(ours.rawValue)
            return nil
        }
        let fd = csys_open(pagesPath, O_RDONLY | O_CLOEXEC, 0)
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0, st.st_size > 0 else {
            if fd >= 0 { close(fd) }
            close(ours.rawValue)
            return nil
        }
        let size = Int(st.st_size)
        let map = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)
        close(fd)
        guard let map, map != MAP_FAILED else {
            close(ours.rawValue)
            return nil
        }
        let fill = UffdFill(pid: r.pid, uffd: ours.rawValue, source: map, sourceSize: size, path: pagesPath)
        for v in vmas {
            var reg = uffdio_register()
            reg.range.start = v.start
            reg.range.len = v.end - v.start
            reg.mode = CSYS_UFFDIO_REGISTER_MODE_MISSING
            guard csys_ioctl(fill.uffd, CSYS_UFFDIO_REGISTER, &reg) == 0 else { return nil }  // deinit undoes the rest
            fill.registered.append(v)
        }
        return fill
    }

    /// Whether `addr` lies in a registered VMA.
    func covers(_ addr: UInt64) -> Bool {
        registered.contains { $0.start <= addr && addr < $0.end }
    }

    /// Copies `len` bytes at `offset` of the pages image to `addr` in the task.
    func copy(to addr: UInt64, length len: UInt64, offset: UInt64) throws {
        guard offset + len <= UInt64(sourceSize) else {
            throw EngineError("read pages", pid: pid, path: path, reason: "image ends before offset \(offset + len)")
        }
        var done: UInt64 = 0
        while done < len {
            var c = uffdio_copy()
            c.dst = addr + done
            c.src = UInt64(UInt(bitPattern: source)) + offset + done
            c.len = len - done
            c.mode = 0
            if csys_ioctl(uffd, CSYS_UFFDIO_COPY, &c) == 0 {
                done = len
            } else if errno == EAGAIN || errno == EINTR {
                if c.copy > 0 { done += UInt64(c.copy) }
            } else {
                throw EngineError("UFFDIO_COPY at \(hex(addr + done))", pid: pid, errno: .init(rawValue: errno))
            }
        }
    }

    /// Unregisters every VMA; the fd goes with the object.
    func finish() {
        for v in registered { unregister(v.start, v.end) }
        registered = []
    }

    private func unregister(_ start: UInt64, _ end: UInt64) {
        var range = uffdio_range()
        range.start = start
        range.len = end - start
        _ = csys_ioctl(uffd, CSYS_UFFDIO_UNREGISTER, &range)
    }
}
