import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

/// discardMemory: two threads of the task (the main one and an injected helper) each drop their half, the
/// pages then read as zeroes, and the task still dies cleanly by killAndRelease.
@Suite(.serialized) struct DiscardTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    private func firstByte(_ task: SeizedTask, _ addr: UInt64) throws -> UInt8 {
        try task.readMemory(at: addr, count: 1)[0]
    }

    @Test func twoThreadsDropTheirHalvesThenTheKillReapsBoth() throws {
        let v = try Victim(victimBin, ["memory"])
        let words = try v.readLine().split(separator: " ")
        try #require(words.count == 3 && words[0] == "memory")
        let base = try #require(UInt64(words[1], radix: 16)), len = try #require(UInt64(words[2]))
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        #expect(try firstByte(task, base) == 0xa5)
        let half = len / 2
        // A third span for the main thread: rounds where only one thread has a call left.
        try task.discardMemory([.init(start: base, length: half / 2), .init(start: base + half / 2, length: half / 2)],
                               [.init(start: base + half, length: half)])
        #expect(task.threads.count == 2)
        for off in stride(from: UInt64(0), to: len, by: Int(len / 8)) { #expect(try firstByte(task, base + off) == 0) }
        #expect(try firstByte(task, base + len - 1) == 0)
        try task.killAndRelease()
        // Reaped by killAndRelease (the test is the parent as well as the tracer): the pid is free.
        #expect(kill(v.pid, 0) == -1 && errno == ESRCH)
    }

    @Test func aFailedMadviseIsReportedAndTheTaskCanStillBeKilled() throws {
        let v = try Victim(victimBin, ["memory"])
        let words = try v.readLine().split(separator: " ")
        try #require(words.count == 3)
        let base = try #require(UInt64(words[1], radix: 16))
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        // An unaligned start: madvise says EINVAL, named with the thread and address.
        #expect(throws: CompelError.self) { try task.discardMemory([.init(start: base + 1, length: 4096)], []) }
        try task.killAndRelease()
        // Reaped by killAndRelease (the test is the parent as well as the tracer): the pid is free.
        #expect(kill(v.pid, 0) == -1 && errno == ESRCH)
    }
}
