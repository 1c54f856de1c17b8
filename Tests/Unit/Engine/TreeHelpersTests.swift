import Glibc
import CSys
import Testing
@testable import Engine

/// Where the restore puts helper tasks for dead session and group leaders, and which shapes it refuses.
@Suite struct TreeHelpersTests {
    static func plan(_ pid: Int32, sid: Int32, pgid: Int32, children: [Int] = []) -> ChildPlan {
        var p = ChildPlan(sid: sid, pgid: pgid, pid: pid, umask: 0, cwd: "/", root: "/", fds: [], pagesPath: "",
                          exePath: "", mappedFiles: [:], trampolineCandidates: [])
        p.children = children
        return p
    }

    @Test func sessionMembersMoveUnderAHelperAtTheDeadLeadersPid() throws {
        // root 100 (session 100) adopted 201 and 202 from session 200, whose leader exited.
        var plans = [Self.plan(100, sid: 100, pgid: 100, children: [1, 2]),
                     Self.plan(201, sid: 200, pgid: 200), Self.plan(202, sid: 200, pgid: 202)]
        try TreeHelpers.insert(&plans) { $0 == 100 }
        #expect(plans.count == 4)
        let h = plans[3]
        #expect(h.pid == 200 && h.sid == 200 && h.helper == .session)
        #expect(plans[0].children == [3])
        #expect(h.children == [1, 2])
        #expect(plans[1].helperParent == 200 && plans[2].helperParent == 200)
    }

    @Test func aSessionMemberWhoseParentIsNoSubreaperIsRefused() {
        var plans = [Self.plan(100, sid: 100, pgid: 100, children: [1]), Self.plan(201, sid: 200, pgid: 200)]
        #expect(throws: EngineError.self) { try TreeHelpers.insert(&plans) { _ in false } }
    }

    @Test func aSessionLeaderInTheTreeButNoAncestorIsRefused() {
        var plans = [Self.plan(100, sid: 100, pgid: 100, children: [1, 2]), Self.plan(200, sid: 200, pgid: 200),
                     Self.plan(201, sid: 200, pgid: 200)]
        #expect(throws: EngineError.self) { try TreeHelpers.insert(&plans) { _ in true } }
    }

    @Test func aGroupWithoutLeaderGetsOneHelperSiblingForkedFirst() throws {
        var plans = [Self.plan(100, sid: 100, pgid: 100, children: [1, 2]),
                     Self.plan(301, sid: 100, pgid: 300), Self.plan(302, sid: 100, pgid: 300)]
        try TreeHelpers.insert(&plans) { _ in false }
        #expect(plans.count == 4)
        #expect(plans[3].pid == 300 && plans[3].pgid == 300 && plans[3].sid == 100 && plans[3].helper == .group)
        #expect(plans[0].children == [3, 1, 2])
    }

    @Test func aGroupInheritedFromTheParentNeedsNoHelper() throws {
        // The root is a shell job: it and its child stay in the shell's group 50.
        var plans = [Self.plan(100, sid: 40, pgid: 50, children: [1]), Self.plan(101, sid: 40, pgid: 50)]
        try TreeHelpers.insert(&plans) { _ in false }
        #expect(plans.count == 2)
    }

    @Test func aGroupWithoutLeaderSpreadOverTwoParentsIsRefused() {
        // 102 (child of 100) and 103 (child of 101) are both in group 300, whose leader is gone.
        var plans = [Self.plan(100, sid: 100, pgid: 100, children: [1, 2]),
                     Self.plan(101, sid: 100, pgid: 101, children: [3]), Self.plan(102, sid: 100, pgid: 300),
                     Self.plan(103, sid: 100, pgid: 300)]
        #expect(throws: EngineError.self) { try TreeHelpers.insert(&plans) { _ in false } }
    }
}
