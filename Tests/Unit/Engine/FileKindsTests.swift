import Glibc
import CSys
import Testing
@testable import Engine

/// File kinds against real kernel objects of a child the test forks and kills.
@Suite struct FileKindsTests {
    @Test func pipeDataIsReadWithoutTakingIt() throws {
        var p: [Int32] = [0, 0]
        try #require(csys_sys_pipe2(&p, O_CLOEXEC) == 0)
        defer { close(p[0]); close(p[1]) }
        let bytes: [UInt8] = Array("queued bytes".utf8)
        try #require(write(p[1], bytes, bytes.count) == bytes.count)
        let child = ChildProcess { report in report(1) }
        defer { child.kill() }
        #expect(child.next() == 1)
        let (size, data) = try PipeData.peek(pid: child.pid, fd: p[0])
        #expect(data == bytes)
        #expect(size == UInt32(csys_fcntl(p[0], CSYS_F_GETPIPE_SZ, 0)))
        var back = [UInt8](repeating: 0, count: 64)
        #expect(read(p[0], &back, 64) == bytes.count, "the data must still be in the pipe")
    }

    @Test func sharedDescriptionsShareOneIdAndPipeEndsDoNot() throws {
        let child = ChildProcess { report in
            // No Swift allocation after fork: a tuple, not an array.
            var p: (Int32, Int32) = (0, 0)
            _ = withUnsafeMutablePointer(to: &p) { $0.withMemoryRebound(to: Int32.self, capacity: 2) { pipe($0) } }
            let d = dup(p.0)
            let e = csys_sys_eventfd2(3, 0), e2 = csys_sys_eventfd2(4, 0), e3 = dup(e)
            report(UInt64(p.0)); report(UInt64(p.1)); report(UInt64(d))
            report(UInt64(e)); report(UInt64(e2)); report(UInt64(e3))
        }
        defer { child.kill() }
        let fds = (0..<6).map { _ in Int32(child.next()) }
        #expect(child.waitSleeping())
        let context = FileDumpContext(pid: child.pid)
        let table = try FileTable.dump(pid: child.pid, context: context, shellJob: false, only: Set(fds))
        func id(_ fd: Int32) -> UInt32? { table.first { $0.fd == UInt32(fd) }?.id }
        #expect(id(fds[0]) == id(fds[2]))
        #expect(id(fds[0]) != id(fds[1]))
        #expect(id(fds[3]) == id(fds[5]))
        #expect(id(fds[3]) != id(fds[4]))
        let counters = context.entries.filter { $0.type == .eventfd }.map(\.efd.counter).sorted()
        #expect(counters == [3, 4])
    }

    @Test func unsupportedKindNamesPidFdAndKind() throws {
        let child = ChildProcess { report in
            let u = csys_sys_userfaultfd(Int32(O_CLOEXEC) | 1)
            report(UInt64(bitPattern: Int64(u)))
        }
        defer { child.kill() }
        let fd = Int32(truncatingIfNeeded: child.next())
        try #require(fd >= 0)
        #expect(child.waitSleeping())
        do {
            _ = try FileTable.dump(pid: child.pid, context: FileDumpContext(pid: child.pid), shellJob: false, only: [fd])
            Issue.record("dump of a userfaultfd succeeded")
        } catch let e as EngineError {
            #expect(e.pid == child.pid && e.fd == fd)
            #expect(e.description.contains("userfaultfd"))
        }
    }

    @Test func spareFdsNeverLandOnATarget() throws {
        let a = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try #require(a >= 0)
        // Every number from a to a+40 is a target, except a+17.
        let targets = Set((a...(a + 40)).filter { $0 != a + 17 })
        let spare = SpareFds(targets: targets)
        let parked = try spare.park(a, "test fd")
        defer { close(parked) }
        #expect(!targets.contains(parked))
        #expect(fcntl(parked, F_GETFD) == FD_CLOEXEC)
    }
}
