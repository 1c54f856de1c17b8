import CSys
import Testing
import Images
@testable import Engine

/// Which clone flags the restore gives a task from the vm_id and sighand_id in the images.
@Suite struct SharedMmTests {
    static func ids(vm: UInt32, sighand: UInt32) -> TaskKobjIdsEntry {
        var e = TaskKobjIdsEntry()
        e.vmID = vm
        e.sighandID = sighand
        return e
    }

    @Test func sharersOfTheParentAreClonedWithItsFlags() throws {
        var seen = SharedMm.Seen()
        #expect(try SharedMm.cloneFlags(pid: 10, ids: Self.ids(vm: 1, sighand: 1), parent: nil, seen: &seen) == 0)
        let both = try SharedMm.cloneFlags(pid: 11, ids: Self.ids(vm: 1, sighand: 1), parent: Self.ids(vm: 1, sighand: 1), seen: &seen)
        #expect(both == UInt64(CSYS_CLONE_VM | CSYS_CLONE_SIGHAND))
        let vmOnly = try SharedMm.cloneFlags(pid: 12, ids: Self.ids(vm: 1, sighand: 3), parent: Self.ids(vm: 1, sighand: 1), seen: &seen)
        #expect(vmOnly == UInt64(CSYS_CLONE_VM))
        let none = try SharedMm.cloneFlags(pid: 13, ids: Self.ids(vm: 4, sighand: 4), parent: Self.ids(vm: 1, sighand: 1), seen: &seen)
        #expect(none == 0)
    }

    @Test func idsSharedWithANonParentAreRefusedNamingBoth() throws {
        var seen = SharedMm.Seen()
        _ = try SharedMm.cloneFlags(pid: 10, ids: Self.ids(vm: 1, sighand: 1), parent: nil, seen: &seen)
        _ = try SharedMm.cloneFlags(pid: 11, ids: Self.ids(vm: 2, sighand: 2), parent: Self.ids(vm: 1, sighand: 1), seen: &seen)
        // 12 is 11's child but shares 10's address space.
        let e = try #require(throws: EngineError.self) {
            try SharedMm.cloneFlags(pid: 12, ids: Self.ids(vm: 1, sighand: 5), parent: Self.ids(vm: 2, sighand: 2), seen: &seen)
        }
        #expect("\(e)".contains("12") && "\(e)".contains("pid 10") && "\(e)".contains("not its parent"), "\(e)")
    }

    @Test func handlersWithoutTheAddressSpaceAreRefused() throws {
        var seen = SharedMm.Seen()
        let e = try #require(throws: EngineError.self) {
            try SharedMm.cloneFlags(pid: 11, ids: Self.ids(vm: 2, sighand: 1), parent: Self.ids(vm: 1, sighand: 1), seen: &seen)
        }
        #expect("\(e)".contains("signal handlers"), "\(e)")
    }
}
