import Glibc
import Testing
@testable import Engine

/// The parsers against a real child process whose state the test set up itself.
@Suite struct LiveProcTests {
    @Test func childProcessAsTheKernelDescribesIt() throws {
        // Objects the child inherits: a pipe, /dev/null, a file opened O_APPEND at offset 10 (that the
        // child flock()s).
        var p: [Int32] = [0, 0]
        try #require(pipe(&p) == 0)
        let efd = open("/dev/null", O_WRONLY | O_CLOEXEC)
        try #require(efd >= 0)
        let file = TempFile(pages: 0, byte: 0)
        let ffd = open(file.path, O_RDWR | O_APPEND)
        try #require(ffd >= 0)
        try #require(write(ffd, "0123456789", 10) == 10)
        var pipeStat = stat()
        try #require(fstat(p[0], &pipeStat) == 0)
        var usr1 = sigset_t()
        sigemptyset(&usr1)
        sigaddset(&usr1, SIGUSR1)
        var nofile = rlimit(rlim_cur: 123, rlim_max: 456)

        let child = ChildProcess { report in
            _ = umask(0o027)
            _ = sigprocmask(SIG_BLOCK, &usr1, nil)
            _ = signal(SIGUSR2, SIG_IGN)
            _ = flock(ffd, LOCK_EX)
            _ = setrlimit(__rlimit_resource_t(7), &nofile)
            let c = open("/proc/thread-self/comm", O_WRONLY)
            _ = write(c, "x) (y\\z\n1", 9)
            close(c)
            report(1)
        }
        defer { child.kill() }
        close(p[1]); close(efd); close(ffd)
        defer { close(p[0]) }
        try #require(child.next() == 1)
        try #require(child.waitSleeping())
        let pid = child.pid

        let st = try Stat.read(pid: pid)
        #expect(st.pid == pid && st.ppid == getpid() && st.comm == "x) (y\\z\n1" && st.state == "S")
        #expect(st.numThreads == 1 && st.exitSignal == SIGCHLD)
        #expect(st.startCode < st.endCode && st.startData < st.endData && st.startBrk > 0)
        #expect(st.argStart < st.argEnd && st.argEnd <= st.envStart && st.envStart < st.envEnd)
        #expect(try Stat.read(pid: pid, tid: pid) == st)

        let s = try Status.read(pid: pid)
        #expect(s.pid == pid && s.tgid == pid && s.ppid == getpid() && s.tracerPid == 0)
        #expect(s.name == "x) (y\\z\n1" && s.umask == 0o027 && s.threads == 1)
        #expect(s.sigBlocked & (1 << (UInt64(SIGUSR1) - 1)) != 0)
        #expect(s.sigIgnored & (1 << (UInt64(SIGUSR2) - 1)) != 0)
        #expect(s.uid == Array(repeating: getuid(), count: 4) && s.gid == Array(repeating: getgid(), count: 4))
        #expect(s.nsPid.last == pid)
        #expect(s.capEffective == (try Status.read(pid: getpid())).capEffective)

        let l = try Limits.read(pid: pid)
        #expect(l[Int(7)] == RLimit(soft: 123, hard: 456))
        var stack = rlimit()
        getrlimit(__rlimit_resource_t(3), &stack)
        #expect(l[Int(3)] == RLimit(soft: UInt64(stack.rlim_cur), hard: UInt64(stack.rlim_max)))

        let fds = try Fds.list(pid: pid)
        #expect(fds.first { $0.fd == p[0] }?.target == .pipe(inode: UInt64(pipeStat.st_ino)))
        #expect(fds.first { $0.fd == efd }?.target == .path("/dev/null", deleted: false))
        #expect(fds.first { $0.fd == ffd }?.target == .path(file.path, deleted: false))
        let fi = try Fdinfo.read(pid: pid, fd: ffd)
        #expect(fi.pos == 10 && fi.flags & UInt32(O_APPEND) != 0 && fi.flags & UInt32(O_ACCMODE) == UInt32(O_RDWR))
        let lock = Fdinfo.tokens(try #require(fi.value("lock"), "flock shows as a lock line"))
        #expect(lock.map { $0.value }.contains("FLOCK") && lock.map { $0.value }.contains("WRITE"))
        let ni = try Fdinfo.read(pid: pid, fd: efd)
        #expect(ni.flags & UInt32(O_CLOEXEC) != 0 && ni.flags & UInt32(O_ACCMODE) == UInt32(O_WRONLY))
        #expect(ni.extra.isEmpty)
        let mounts = try Mountinfo.read(pid: pid)
        #expect(mounts.contains { $0.mountId == fi.mntId })
        #expect(mounts.contains { $0.mountPoint == "/proc" && $0.fsType == "proc" })

        let maps = try Maps.read(pid: pid)
        let smaps = try Smaps.read(pid: pid)
        #expect(maps.count > 5)
        #expect(smaps.map { v -> VMA in var v = v.vma; v.flags = nil; return v } == maps)
        #expect(smaps.allSatisfy { $0.vma.flags != nil && $0.kB("Size") == $0.vma.size / 1024 })
        #expect(smaps.first { $0.vma.kind == .stack }?.vma.flags?.contains(.growsDown) == true)
        for k in [VMAKind.stack, .vdso, .vvar] { #expect(maps.contains { $0.kind == k }, "\(k)") }
        let exe = try TaskLinks.exe(pid: pid)
        let exeVMA = try #require(maps.first { $0.path == exe })
        #expect(try Maps.mapFileTarget(pid: pid, vma: exeVMA) == exe)

        let aux = try Auxv.read(pid: pid)
        #expect(Auxv.value(aux, UInt64(AT_PAGESZ)) == UInt64(testPageSize))
        #expect(aux == (try Auxv.read(pid: getpid())), "a forked child keeps its parent's auxv")
        let args = try TaskLinks.cmdline(pid: pid)
        #expect(args == (try TaskLinks.cmdline(pid: getpid())))
        #expect(UInt64(args.reduce(0) { $0 + $1.count + 1 }) == st.argEnd - st.argStart)
        #expect(try TaskLinks.environ(pid: pid).count > 0)

        #expect(try Tasks.threads(pid: pid) == [pid])
        #expect(try Tasks.children(pid: getpid()).contains(pid))
        #expect(try Tasks.children(pid: pid) == [])
        var cwd = [CChar](repeating: 0, count: 4096)
        _ = getcwd(&cwd, cwd.count)
        #expect(try TaskLinks.cwd(pid: pid) == cwd.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        #expect(try TaskLinks.root(pid: pid) == "/")
    }

    @Test func readsLargeFilesWholeAndHonoursTheLimit() throws {
        // Our own smaps is far larger than the first 16 KiB read.
        let whole = try ProcFile.readBytes("/proc/self/smaps")
        #expect(whole.count > 32 << 10)
        #expect(whole.last == UInt8(ascii: "\n"))
        do {
            _ = try ProcFile.readBytes("/proc/self/smaps", limit: 1000)
            Issue.record("read past the limit")
        } catch {
            #expect(error.operation == "read" && error.path == "/proc/self/smaps")
        }
        #expect(try ProcFile.readBytes("/proc/self/stat", limit: 4096).count > 100)
    }

    @Test func errorsCarryPathAndErrno() {
        do {
            _ = try Status.read(pid: Int32.max)
            Issue.record("read a task that cannot exist")
        } catch {
            #expect(error.errno == .noSuchFileOrDirectory && error.operation == "open")
            #expect(error.description == "/proc/\(Int32.max)/status: open failed: No such file or directory (errno 2)")
        }
        #expect(throws: ProcError.self) { try ProcFile.readLink("/proc/self/stat") }
        #expect(throws: ProcError.self) { try ProcFile.listDirectory("/proc/self/nonexistent") }
    }

    @Test func ownThreadStatusAndMounts() throws {
        // "/proc/thread-self" links to "PID/task/TID".
        let tid = try #require(Int32(try ProcFile.readLink("/proc/thread-self").split(separator: "/").last ?? ""))
        let s = try Status.read(pid: getpid(), tid: tid)
        #expect(s.pid == tid && s.tgid == getpid())
        #expect(try Tasks.threads(pid: getpid()).contains(tid))
        let m = try Mountinfo.read(pid: getpid())
        #expect(m.contains { $0.mountPoint == "/" })
        let ids = Set(m.map { $0.mountId })
        #expect(m.allSatisfy { ids.contains($0.parentId) || $0.mountPoint == "/" })
        #expect(try Limits.read(pid: getpid()).count == 16)
        #expect(try Smaps.read(pid: getpid()).count > 0)
    }
}

@Suite struct OtherUserTests {
    /// The engine (root without CAP_SYS_RESOURCE) must read tasks of other users. A child that switched
    /// to nobody is also non-dumpable, which makes its /proc files root-owned: still readable for us.
    @Test func readsATaskOfAnotherUser() throws {
        try #require(getuid() == 0, "needs root to switch the child to another user")
        let child = ChildProcess { report in
            guard setgroups(0, nil) == 0, setgid(65534) == 0, setuid(65534) == 0 else {
                report(0)
                return
            }
            let m = mmap(nil, 4 * testPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            m.storeBytes(of: 7, toByteOffset: 3 * testPageSize, as: UInt8.self)
            report(UInt64(UInt(bitPattern: m)))
        }
        defer { child.kill() }
        let base = child.next()
        try #require(base != 0, "child could not switch to uid 65534")
        let pid = child.pid
        let s = try Status.read(pid: pid)
        #expect(s.uid == [65534, 65534, 65534, 65534] && s.gid == [65534, 65534, 65534, 65534] && s.groups == [])
        #expect(try Limits.read(pid: pid).count == 16)
        #expect(try Stat.read(pid: pid).startCode != 0, "mm fields are visible to us")
        #expect(try Auxv.read(pid: pid).count > 5)
        let page = UInt64(testPageSize)
        let pm = try Pagemap(pid: pid)
        #expect(try pm.scan(start: base, end: base + 4 * page, filter: PageFilter.all).runs == [PageRun(start: base + 3 * page, nrPages: 1)])
        #expect(try pm.readEntries(start: base, end: base + 4 * page, filter: PageFilter.all).total == 1)
        let exe = try TaskLinks.exe(pid: pid)
        let vma = try #require(try Maps.read(pid: pid).first { $0.path == exe })
        #expect(try Maps.mapFileTarget(pid: pid, vma: vma) == exe)
        #expect(try Fds.list(pid: pid).count > 0)
    }
}

@Suite struct LiveTaskValuesTests {
    @Test func timersAndSingleValuesOfAChild() throws {
        var sev = sigevent()
        sev.sigev_notify = Int32(SIGEV_SIGNAL)
        sev.sigev_signo = SIGUSR1
        sev.sigev_value.sival_ptr = UnsafeMutableRawPointer(bitPattern: 0x1234)
        let child = ChildProcess { report in
            var a: timer_t? = nil, b: timer_t? = nil
            guard timer_create(CLOCK_MONOTONIC, &sev, &a) == 0, timer_create(CLOCK_REALTIME, nil, &b) == 0 else {
                report(0)
                return
            }
            let fd = open("/proc/self/oom_score_adj", O_WRONLY)
            _ = write(fd, "123", 3)
            close(fd)
            report(UInt64(UInt(bitPattern: a)) << 32 | UInt64(UInt(bitPattern: b)))
        }
        defer { child.kill() }
        let ids = child.next()
        try #require(ids != 0)
        let t = try Timers.read(pid: child.pid).sorted { $0.id < $1.id }
        try #require(t.count == 2)
        let a = t.first { $0.id == Int32(ids >> 32) }, b = t.first { $0.id == Int32(ids & 0xffff_ffff) }
        #expect(a == PosixTimerInfo(id: Int32(ids >> 32), signal: SIGUSR1, sigval: 0x1234, notify: .signal,
                                    toThread: false, target: child.pid, clockId: CLOCK_MONOTONIC))
        // A NULL sigevent means SIGALRM to the process.
        #expect(b?.signal == SIGALRM && b?.notify == .signal && b?.target == child.pid && b?.clockId == CLOCK_REALTIME)
        #expect(try TaskValues.oomScoreAdj(pid: child.pid) == 123)
        #expect(try TaskValues.personality(pid: child.pid) == (try TaskValues.personality(pid: getpid())))
        #expect(try TaskValues.timerSlackNs(pid: child.pid) > 0)
        #expect(try TaskValues.coredumpFilter(pid: child.pid) == (try TaskValues.coredumpFilter(pid: getpid())))
        #expect(try Status.read(pid: child.pid).thpEnabled == true)
    }
}
