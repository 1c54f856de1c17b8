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

    /// One copy: `len` bytes at `offset` of the pages image to `dst` in the task.
    struct Job {
        var dst: UInt64
        var offset: UInt64
        var len: UInt64
    }
    private var jobs: [Job] = []
    private var queuedBytes: UInt64 = 0

    /// Queues a copy for `run()`.
    func queue(to addr: UInt64, length len: UInt64, offset: UInt64) throws {
        guard offset + len <= UInt64(sourceSize) else {
            throw EngineError("read pages", pid: pid, path: path, reason: "image ends before offset \(offset + len)")
        }
        jobs.append(Job(dst: addr, offset: offset, len: len))
        queuedBytes += len
    }

    /// Runs the queued copies. From 64 MiB on, the second half of the bytes goes to a second thread on the
    /// other core: the copies are independent pages, and UFFDIO_COPY needs no ptrace, so the thread only
    /// copies. It lives only inside this call (a QuietJob, joined before it returns, on every path), so the
    /// engine is single-threaded again before anything forks.
    func run() throws {
        defer {
            jobs = []
            queuedBytes = 0
        }
        var first = jobs, second: [Job] = []
        if queuedBytes >= 64 << 20 {
            (first, second) = Self.split(jobs, at: queuedBytes / 2 & ~(Self.page - 1))
        }
        let (fd, src) = (uffd, UInt64(UInt(bitPattern: source)))
        let worker = second.isEmpty ? nil : QuietJob { Self.copyAll(fd, src, second) }
        let mine = Self.copyAll(fd, src, first)
        // Without a second thread this one copies the second half too: slower, not wrong.
        let theirs = worker?.join() ?? Self.copyAll(fd, src, second)
        for failure in [mine, theirs] {
            if let (e, addr) = failure { throw EngineError("UFFDIO_COPY at \(hex(addr))", pid: pid, errno: .init(rawValue: e)) }
        }
    }

    private static let page: UInt64 = 4096

    /// The jobs cut in two at byte `mid` of their total.
    static func split(_ jobs: [Job], at mid: UInt64) -> ([Job], [Job]) {
        var a: [Job] = [], b: [Job] = []
        var seen: UInt64 = 0
        for j in jobs {
            if seen >= mid {
                b.append(j)
            } else if seen + j.len <= mid {
                a.append(j)
            } else {
                let head = mid - seen
                a.append(Job(dst: j.dst, offset: j.offset, len: head))
                b.append(Job(dst: j.dst + head, offset: j.offset + head, len: j.len - head))
            }
            seen += j.len
        }
        return (a, b)
    }

    /// Copies every job; the errno and address of the first failure, if any.
    private static func copyAll(_ uffd: Int32, _ source: UInt64, _ jobs: [Job]) -> (Int32, UInt64)? {
        for j in jobs {
            var done: UInt64 = 0
            while done < j.len {
                var c = uffdio_copy()
                c.dst = j.dst + done
                c.src = source + j.offset + done
                c.len = j.len - done
                c.mode = 0
                if csys_ioctl(uffd, CSYS_UFFDIO_COPY, &c) == 0 {
                    done = j.len
                } else if errno == EAGAIN || errno == EINTR {
                    if c.copy > 0 { done += UInt64(c.copy) }
                } else {
                    return (errno, j.dst + done)
                }
            }
        }
        return nil
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
