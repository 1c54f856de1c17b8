import Glibc
import CSys
import Images
import Testing
@testable import Engine

/// A fanotify group of a forked child, dumped and opened again here: the new group's fdinfo must show
/// the same flags and marks (same mount namespace, so even the mount ids agree).
@Suite struct FanotifyTests {
    @Test func dumpedGroupReopensWithTheSameMarks() throws {
        var dir = Array("/tmp/fanotify-unit-XXXXXX".utf8CString)
        try #require(mkdtemp(&dir) != nil)
        let base = String(decoding: dir.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let f1 = base + "/a", f2 = base + "/b"
        for p in [f1, f2] {
            let fd = csys_open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            try #require(fd >= 0)
            close(fd)
        }
        defer { unlink(f1); unlink(f2); rmdir(base) }
        let c1 = Array(f1.utf8CString), c2 = Array(f2.utf8CString), cd = Array(base.utf8CString)
        let child = ChildProcess { report in
            let fd = csys_sys_fanotify_init(UInt32(CSYS_FAN_NONBLOCK), UInt32(O_RDONLY))
            let add = UInt32(CSYS_FAN_MARK_ADD)
            let ok = fd >= 0
                && c1.withUnsafeBufferPointer { csys_sys_fanotify_mark(fd, add, 0x2 | 0x8, AT_FDCWD, $0.baseAddress) } == 0
                && cd.withUnsafeBufferPointer {
                    csys_sys_fanotify_mark(fd, add | UInt32(CSYS_FAN_MARK_MOUNT), 0x20, AT_FDCWD, $0.baseAddress) } == 0
                && c2.withUnsafeBufferPointer {
                    csys_sys_fanotify_mark(fd, add | UInt32(CSYS_FAN_MARK_IGNORE | CSYS_FAN_MARK_IGNORED_SURV_MODIFY), 0x20,
                                           AT_FDCWD, $0.baseAddress) } == 0
            report(UInt64(bitPattern: Int64(fd))); report(ok ? 1 : 0)
        }
        defer { child.kill() }
        let fd = Int32(truncatingIfNeeded: child.next())
        try #require(child.next() == 1, "fanotify set-up failed in the child")
        #expect(child.waitSleeping())

        let context = FileDumpContext(pid: child.pid)
        let table = try FileTable.dump(pid: child.pid, context: context, shellJob: false, only: [fd])
        let entry = try #require(context.entries.first { $0.id == table.first?.id })
        #expect(entry.type == .fanotify)
        #expect(entry.ffy.mark.count == 3)
        #expect(entry.ffy.mark.contains { $0.type == .mount && $0.me.path != "" && $0.mask == 0x20 })
        #expect(entry.ffy.mark.contains { $0.type == .inode && $0.ie.fHandle.path == f1 && $0.mask == 0xa })

        let restoreContext = FileRestoreContext(images: FileImages()) { $0 }
        let mine = try FanotifyFile.open(entry, context: restoreContext)
        defer { close(mine) }
        try FanotifyFile.addMarks(mine, entry.ffy)
        let before = try Fdinfo.read(pid: child.pid, fd: fd).values("fanotify").sorted()
        let after = try Fdinfo.read(pid: getpid(), fd: mine).values("fanotify").sorted()
        #expect(after == before)
    }

    @Test func filesystemMarksFailTheDump() throws {
        let root = Array("/tmp".utf8CString)
        let child = ChildProcess { report in
            let fd = csys_sys_fanotify_init(0, UInt32(O_RDONLY))
            let r = root.withUnsafeBufferPointer {
                csys_sys_fanotify_mark(fd, UInt32(CSYS_FAN_MARK_ADD | CSYS_FAN_MARK_FILESYSTEM), 0x20, AT_FDCWD, $0.baseAddress)
            }
            report(UInt64(bitPattern: Int64(fd))); report(r == 0 ? 1 : 0)
        }
        defer { child.kill() }
        let fd = Int32(truncatingIfNeeded: child.next())
        try #require(child.next() == 1)
        #expect(child.waitSleeping())
        #expect(throws: EngineError.self) {
            _ = try FileTable.dump(pid: child.pid, context: FileDumpContext(pid: child.pid), shellJob: false, only: [fd])
        }
    }
}
