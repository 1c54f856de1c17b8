import Foundation
import Glibc
import Testing
@testable import ZdtmCore

@Suite struct ProcStateTests {
    @Test func normalizesAnonymousFdTargets() {
        #expect(ProcState.normalizeFdTarget("pipe:[12345]") == "pipe")
        #expect(ProcState.normalizeFdTarget("socket:[99]") == "socket")
        #expect(ProcState.normalizeFdTarget("anon_inode:[eventfd]") == "anon_inode:[eventfd]")
        #expect(ProcState.normalizeFdTarget("/tmp/x (deleted)") == "/tmp/x (deleted)")
    }

    @Test func mountinfoDropsIds() {
        let a = "22 27 0:21 / /proc rw,relatime shared:12 - proc proc rw\n"
        let b = "40 41 0:50 / /proc rw,relatime - proc proc rw\n"
        #expect(ProcState.mounts(a) == ProcState.mounts(b))
    }

    /// A real process that changes its fd table and maps between two looks: the diff must name both.
    @Test func snapshotOfARealProcessCatchesAChange() throws {
        Proc.becomeSubreaper()
        // fd 97 is closed first: whatever the test process inherited must not decide the outcome
        let pid = try Proc.spawn(["/bin/bash", "-c", "exec 97<&-; sleep 0.5; exec 97</dev/null; exec sleep 30"], log: nil)
        defer {
            kill(pid, SIGKILL)
            _ = Proc.wait(pid, timeout: 5)
        }
        usleep(100_000)
        let s1 = ProcState.snapshot(root: pid, withMounts: false)
        let s2 = ProcState.snapshot(root: pid, withMounts: false)
        #expect(s1.count >= 1)
        #expect(ProcState.diff(before: s1, after: s2).isEmpty, "two looks at a still process must agree")
        usleep(900_000)
        let s3 = ProcState.snapshot(root: pid, withMounts: false)
        let d = ProcState.diff(before: s1, after: s3)
        #expect(d.contains { $0.contains("fd 97: (none) -> /dev/null") }, "\(d)")
        #expect(d.contains { $0.contains("vma") }, "exec of sleep changes the maps: \(d)")
    }

    @Test func treeAndStatusDifferences() {
        var a = TaskState(key: 10, parentKey: nil, pgidKey: "10", sidKey: "10")
        a.status = ["SigBlk": "0000000000000200", "Uid": "18943\t18943\t18943\t18943"]
        a.fds = [0: "/dev/null flags=0100000"]
        var child = TaskState(key: 11, parentKey: 10, pgidKey: "10", sidKey: "10")
        child.cwd = "/tmp"
        let before: [pid_t: TaskState] = [10: a, 11: child]
        var a2 = a
        a2.status["SigBlk"] = "0000000000000000"
        var child2 = child
        child2.pgidKey = "11"
        child2.cwd = "/"
        let d = ProcState.diff(before: before, after: [10: a2, 11: child2])
        #expect(d.contains("task 10: status SigBlk: 0000000000000200 -> 0000000000000000"))
        #expect(d.contains("task 11: pgid 10 -> 11"))
        #expect(d.contains("task 11: cwd /tmp -> /"))
        #expect(ProcState.diff(before: before, after: [10: a]) == ["task 11 is gone"])
    }
}
