import Glibc
import CSys
import Images
import Testing
@testable import Engine

/// fdinfo "lock:" lines, and locks a forked child really holds turned into filelocks.img entries.
@Suite struct FileLocksTests {
    @Test func parsesHeldLocksAndSkipsWaiters() throws {
        let posix = try #require(try LockLine.parse("1: POSIX  ADVISORY  WRITE 18091 fe:00:16351236 10 14"))
        #expect(posix == LockLine(kind: .posix, write: true, start: 10, end: 14))
        #expect(posix.len == 5 && posix.flag == 1)
        let eof = try #require(try LockLine.parse("2: POSIX  ADVISORY  READ 18091 fe:00:16351236 100 EOF"))
        #expect(eof.len == 0 && !eof.write)
        #expect(try LockLine.parse("1: OFDLCK ADVISORY  WRITE -1 fe:00:16351237 0 EOF")?.flag == 4)
        #expect(try LockLine.parse("1: FLOCK  ADVISORY  READ 18091 fe:00:16351238 0 EOF")?.flag == 2)
        #expect(try LockLine.parse("1: -> POSIX  ADVISORY  WRITE 18093 fe:00:16351236 0 EOF") == nil)
        #expect(throws: ProcError.self) { try LockLine.parse("1: LEASE  ACTIVE    READ 18091 fe:00:16351236 0 EOF") }
        #expect(throws: ProcError.self) { try LockLine.parse("1: POSIX  ADVISORY  WRITE 18091 fe:00:1 20 10") }
    }

    @Test func heldLocksBecomeEntriesOnceAndFailWithoutTheOption() throws {
        var path = Array("/tmp/filelocks-unit-XXXXXX".utf8CString)
        let fd = mkstemp(&path)
        try #require(fd >= 0)
        let name = String(decoding: path.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { close(fd); unlink(name) }
        let child = ChildProcess { report in
            let d = dup(fd)
            var l = csys_flock()
            l.l_type = Int16(F_WRLCK); l.l_whence = Int16(SEEK_SET); l.l_start = 10; l.l_len = 5
            let r1 = csys_fcntl_lock(fd, F_SETLK, &l)
            l.l_type = Int16(F_RDLCK); l.l_start = 100; l.l_len = 0
            let r2 = csys_fcntl_lock(fd, F_SETLK, &l)
            report(UInt64(d)); report(r1 == 0 && r2 == 0 ? 1 : 0)
        }
        defer { child.kill() }
        let d = Int32(child.next())
        try #require(child.next() == 1)
        #expect(child.waitSleeping())

        let context = FileDumpContext(pid: child.pid)
        let table = try FileTable.dump(pid: child.pid, context: context, shellJob: false, only: [fd, d])
        #expect(throws: EngineError.self) {
            try context.locks.resolve(pid: child.pid, fdinfo: table, enabled: false, context: context)
        }
        _ = try FileTable.dump(pid: child.pid, context: context, shellJob: false, only: [fd, d])
        try context.locks.resolve(pid: child.pid, fdinfo: table, enabled: true, context: context)
        // The dup shows the same two locks: one entry each.
        let records = try #require(context.images[FileLocks.image]?.records)
        let entries = try records.map { try FileLockEntry(serializedBytes: $0.entry) }
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0.pid == child.pid && $0.fd == fd && $0.flag == 1 })
        #expect(entries.contains { $0.type == UInt32(F_WRLCK) && $0.start == 10 && $0.len == 5 })
        #expect(entries.contains { $0.type == UInt32(F_RDLCK) && $0.start == 100 && $0.len == 0 })
    }

    @Test func describesLocksForErrors() {
        var e = FileLockEntry()
        e.flag = 4; e.type = UInt32(F_RDLCK); e.start = 0; e.len = 10
        #expect(FileLocks.describe(e) == "OFD read lock on bytes 0-9")
        e.flag = 2; e.type = UInt32(F_WRLCK); e.len = 0
        #expect(FileLocks.describe(e) == "flock write lock")
    }
}
