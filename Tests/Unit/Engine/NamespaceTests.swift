import Testing
import Glibc
import CSys
import Images
@testable import Engine

private let copyTable = """
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 0:40 / /mnt/late rw,relatime - tmpfs tmpfs rw,size=4k
"""

private func entry(_ line: String, ext: Bool) throws -> MntEntry {
    let m = try Mountinfo.parse(line)[0]
    var e = MntEntry()
    e.fsname = m.fsType
    e.root = m.root
    e.mountpoint = m.mountPoint
    e.source = m.source
    e.options = m.superOptions
    e.flags = UInt32(MountNamespace.mountFlags(m.options))
    e.extMount = ext
    return e
}

@Suite struct MountPlanTests {
    /// The ns flavor's table: the copy of criu's plus a proc of the new pid namespace on /proc. A mount
    /// criu's namespace gained after the dump is detached, the namespace's own proc made again.
    @Test func copyPlusOwnProc() throws {
        let image = [
            try entry("22 27 0:21 / /proc rw,relatime - proc proc rw", ext: true),
            try entry("23 27 0:22 / /sys rw,relatime - sysfs sysfs rw", ext: true),
            try entry("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard", ext: true),
            try entry("50 22 0:50 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw", ext: false),
        ]
        let plan = try MountNamespace.plan(image: image, current: try Mountinfo.parse(copyTable))
        #expect(plan.detach == ["/mnt/late"])
        #expect(plan.mount == [3])
        let flags = image[3].flags
        #expect(flags == UInt32(CSYS_MS_NOSUID | CSYS_MS_NODEV | CSYS_MS_NOEXEC | CSYS_MS_RELATIME))
    }

    /// A mount of the tree's own is never taken for the copy's, even when it looks the same: a proc of
    /// another pid namespace shows other tasks.
    @Test func ownMountNeverMatchesCopy() throws {
        let image = [try entry("22 27 0:21 / /proc rw,relatime - proc proc rw", ext: false)]
        let plan = try MountNamespace.plan(image: image, current: try Mountinfo.parse(copyTable))
        #expect(plan.detach.filter { $0 == "/proc" }.count == 1)
        #expect(plan.mount == [0])
    }

    /// A filesystem of criu's namespace that is no longer where the image wants it cannot be made.
    @Test func missingCopyMountFails() throws {
        let image = [try entry("60 27 8:1 / /data rw,relatime - ext4 /dev/sdb rw", ext: true)]
        #expect(throws: EngineError.self) { try MountNamespace.plan(image: image, current: try Mountinfo.parse(copyTable)) }
    }
}

@Suite struct NamespaceIdTests {
    /// The restore creates exactly the kinds whose ids differ from the inventory's root_ids.
    @Test func kindsFromIds() throws {
        var criu = TaskKobjIdsEntry(), task = TaskKobjIdsEntry()
        let ns = TreeNamespaces(criu: [.pid: 1, .uts: 2, .net: 3], root: [.pid: 10, .uts: 2, .net: 30], rootPid: 1)
        ns.ids(into: &criu, criuView: true)
        ns.ids(into: &task, criuView: false)
        #expect(ns.own == [.pid, .net])
        #expect(criu.utsNsID == task.utsNsID)
        #expect(criu.pidNsID != task.pidNsID && criu.netNsID != task.netNsID)
    }

    /// Our own process: every namespace is criu's, so a dump of it creates none.
    @Test func selfSharesCriusNamespaces() throws {
        let ns = try TreeNamespaces.analyze(root: getpid(), live: [getpid()])
        #expect(ns.own.isEmpty)
    }
}
