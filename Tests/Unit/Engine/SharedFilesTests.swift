import Glibc
import CSys
import Testing
@testable import Engine
import Images

/// Descriptions shared between tasks are written to files.img once; pidfds only to tasks of the tree.
@Suite struct SharedFilesTests {
    @Test func descriptionsInheritedByTwoTasksAreWrittenOnce() throws {
        var p: [Int32] = [0, 0]
        try #require(csys_sys_pipe2(&p, O_CLOEXEC) == 0)
        defer { close(p[0]); close(p[1]) }
        let a = ChildProcess { report in report(1) }
        defer { a.kill() }
        let b = ChildProcess { report in
            // A second description of the read end, of b's own.
            let own = csys_open("/proc/self/fd/\(p[0])", O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0)
            report(UInt64(own))
        }
        defer { b.kill() }
        #expect(a.next() == 1)
        let own = Int32(b.next())
        #expect(a.waitSleeping() && b.waitSleeping())
        let context = FileDumpContext(pid: a.pid)
        let shared = SharedFiles()
        let ta = try FileTable.dump(pid: a.pid, context: context, shellJob: false, only: Set(p), shared: shared)
        context.begin(pid: b.pid)
        let tb = try FileTable.dump(pid: b.pid, context: context, shellJob: false, only: Set(p + [own]), shared: shared)
        func id(_ t: [FdinfoEntry], _ fd: Int32) -> UInt32? { t.first { $0.fd == UInt32(fd) }?.id }
        #expect(id(ta, p[0]) == id(tb, p[0]))
        #expect(id(ta, p[1]) == id(tb, p[1]))
        #expect(id(tb, own) != id(tb, p[0]))
        let pipes = context.entries.filter { $0.type == .pipe }
        #expect(pipes.count == 3, "one entry per description: both ends once, b's reopen once")
        #expect(Set(pipes.map(\.pipe.pipeID)).count == 1)
    }

    @Test func pidfdOutsideTheTreeIsRefused() throws {
        let target = ChildProcess { report in report(1) }
        defer { target.kill() }
        #expect(target.next() == 1)
        let holder = ChildProcess { report in
            report(UInt64(bitPattern: Int64(csys_sys_pidfd_open(target.pid, 0))))
        }
        defer { holder.kill() }
        let fd = Int32(truncatingIfNeeded: holder.next())
        try #require(fd >= 0)
        #expect(holder.waitSleeping())
        let context = FileDumpContext(pid: holder.pid)
        context.treeIds = [holder.pid]
        do {
            _ = try FileTable.dump(pid: holder.pid, context: context, shellJob: false, only: [fd])
            Issue.record("a pidfd to a process outside the tree was dumped")
        } catch let e as EngineError {
            #expect(e.pid == holder.pid && e.fd == fd)
            #expect(e.description.contains("outside the dumped tree"))
        }
        context.treeIds = [holder.pid, target.pid]
        let table = try FileTable.dump(pid: holder.pid, context: context, shellJob: false, only: [fd], shared: SharedFiles())
        #expect(context.entries.first { $0.id == table[0].id }?.pidfd.nspid == target.pid)
    }
}

/// A memfd only mapped (its fd closed): the VMA names a memfd file entry, contents saved once.
@Suite struct MemfdMappingTests {
    @Test func mappedMemfdWithoutFdIsOneInodeWithContents() throws {
        let child = ChildProcess { report in
            let fd = csys_sys_memfd_create("unit-memfd", CSYS_MFD_CLOEXEC)
            _ = ftruncate(fd, 2 * 4096)
            let p = mmap(nil, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
            let q = mmap(nil, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0)!
            p.storeBytes(of: UInt8(0x5a), toByteOffset: 4096, as: UInt8.self)
            close(fd)
            report(UInt64(UInt(bitPattern: p)))
            report(UInt64(UInt(bitPattern: q)))
        }
        defer { child.kill() }
        let shared = child.next(), priv = child.next()
        #expect(child.waitSleeping())
        let context = FileDumpContext(pid: child.pid)
        let plans = try MemoryPlanner.plan(pid: child.pid, vmas: try Smaps.read(pid: child.pid).map(\.vma)) { vma, flags in
            vma.isMemfd ? try MemfdMapping.register(pid: child.pid, vma: vma, flags: flags, context: context)
                        : try context.registerPath(vma.path ?? "", flags: flags)
        }
        let s = try #require(plans.first { $0.entry.start == shared }), p = try #require(plans.first { $0.entry.start == priv })
        let memfdShared: UInt32 = Images.VmaStatus.memfd | Images.VmaStatus.fileShared
        let memfdPrivate: UInt32 = Images.VmaStatus.memfd | Images.VmaStatus.filePrivate
        let sStatus: UInt32 = s.entry.status, pStatus: UInt32 = p.entry.status
        #expect(sStatus & memfdShared == memfdShared)
        #expect(pStatus & memfdPrivate == memfdPrivate)
        let files = context.entries.filter { $0.type == .memfd }
        #expect(files.count == 2, "one entry per open mode")
        #expect(Set(files.map(\.memfd.inodeID)).count == 1, "one inode")
        #expect(context.images["memfd.img"]?.records.count == 1)
        let pages = context.images.first { $0.key.hasPrefix("pages-") }?.value.records.first?.payload ?? []
        #expect(pages.count == 4096 && pages[0] == 0x5a, "only the data page is saved")
    }
}
