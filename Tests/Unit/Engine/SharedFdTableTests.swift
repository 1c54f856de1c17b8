import Glibc
import CSys
import Testing
@testable import Engine

/// How the restore plans a shared fd table: who is cloned with CLONE_FILES, who cleans the table up and
/// waits for how many sharers, who is told where to report.
@Suite struct SharedFdTableTests {
    static func plan(_ pid: Int32, children: [Int] = [], flags: UInt64 = 0) -> ChildPlan {
        var p = ChildPlan(sid: 1, pgid: 1, pid: pid, umask: 0o022, cwd: "/", root: "/", fds: [], pagesPath: "", exePath: "",
                          mappedFiles: [:], trampolineCandidates: [])
        p.children = children
        p.cloneFlags = flags
        return p
    }

    @Test func aChildOnItsParentsTableIsClonedWithCloneFiles() throws {
        var seen: [UInt32: Int32] = [:]
        #expect(try SharedFdTable.cloneFlags(pid: 10, filesID: 1, parentFilesID: nil, seen: &seen) == 0)
        #expect(try SharedFdTable.cloneFlags(pid: 11, filesID: 1, parentFilesID: 1, seen: &seen) == UInt64(CSYS_CLONE_FILES))
        #expect(try SharedFdTable.cloneFlags(pid: 12, filesID: 3, parentFilesID: 1, seen: &seen) == 0)
    }

    @Test func aTableSharedWithANonParentIsRefusedNamingBothPids() throws {
        var seen: [UInt32: Int32] = [:]
        _ = try SharedFdTable.cloneFlags(pid: 10, filesID: 1, parentFilesID: nil, seen: &seen)
        _ = try SharedFdTable.cloneFlags(pid: 11, filesID: 2, parentFilesID: 1, seen: &seen)
        let e = try #require(throws: EngineError.self) {
            try SharedFdTable.cloneFlags(pid: 12, filesID: 1, parentFilesID: 2, seen: &seen)
        }
        #expect("\(e)".contains("12") && "\(e)".contains("pid 10") && "\(e)".contains("fd table"), "\(e)")
    }

    /// P shares with its child C, and C's child G with C; N (P's child) has its own table.
    @Test func theFirstHolderCountsEverySharerBelowIt() throws {
        let files = UInt64(CSYS_CLONE_FILES)
        var plans = [Self.plan(1, children: [1, 3]), Self.plan(2, children: [2], flags: files), Self.plan(3, flags: files),
                     Self.plan(4, children: [])]
        SharedFdTable.countSharers(&plans, faults: Faults(environment: nil))
        #expect(plans.map(\.tableSharers) == [2, 0, 0, 0])
        let ends = try #require(try SharedFdTable.openDonePipe(&plans, 0, targets: []))
        defer { close(ends.read); close(ends.write) }
        #expect(plans.map(\.tableDoneFd) == [-1, ends.write, ends.write, -1])
        #expect(try SharedFdTable.openDonePipe(&plans, 3, targets: []) == nil)
    }

    @Test func sharersReportTheirFdsToTheFirstHolder() throws {
        var plans = [Self.plan(1, children: [1, 2]), Self.plan(2, flags: UInt64(CSYS_CLONE_FILES)),
                     Self.plan(3, flags: UInt64(CSYS_CLONE_FILES))]
        SharedFdTable.countSharers(&plans, faults: Faults(environment: nil))
        let ends = try #require(try SharedFdTable.openDonePipe(&plans, 0, targets: []))
        SharedFdTable.tellDone(plans[1], keeps: [40, 41])
        SharedFdTable.tellDone(plans[2], keeps: [42])
        #expect(try SharedFdTable.waitForSharers(plans[0], pipe: ends) == [40, 41, 42])
    }

    @Test func aFailedSharerFailsTheFirstHolder() throws {
        var plans = [Self.plan(1, children: [1]), Self.plan(2, flags: UInt64(CSYS_CLONE_FILES))]
        SharedFdTable.countSharers(&plans, faults: Faults(environment: nil))
        let ends = try #require(try SharedFdTable.openDonePipe(&plans, 0, targets: []))
        SharedFdTable.tellFailed(plans[1])
        let e = try #require(throws: EngineError.self) { try SharedFdTable.waitForSharers(plans[0], pipe: ends) }
        #expect("\(e)".contains("task 2 sharing its fd table failed"), "\(e)")
    }
}
