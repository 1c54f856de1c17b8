import Glibc
import CSys
import Testing
@testable import Engine

/// The dump refuses processes that share fs, an fd table, an address space or handlers other than with
/// their parent; forked ones pass.
@Suite struct SharedTaskStateTests {
    /// A child created by clone3 with `flags`; it only sleeps (no Swift code runs after the clone).
    static func spawn(_ flags: UInt64) -> pid_t {
        var args = csys_clone_args()
        args.flags = flags
        args.exit_signal = UInt64(SIGCHLD)
        let r = csys_sys_clone3(&args, MemoryLayout<csys_clone_args>.size)
        if r == 0 {
            alarm(60)
            while true { pause() }
        }
        return pid_t(r)
    }

    static func reap(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var st: Int32 = 0
        waitpid(pid, &st, 0)
    }

    @Test func forkedProcessesShareNothing() throws {
        let a = Self.spawn(0), b = Self.spawn(0)
        defer { Self.reap(a); Self.reap(b) }
        try #require(a > 0 && b > 0)
        let me = getpid()
        let s = try SharedTaskState.check([(me, 1), (a, me), (b, me)])
        #expect(s.isEmpty)
    }

    @Test func fsSharedWithTheParentIsRecordedForTheRestore() throws {
        let a = Self.spawn(0), b = Self.spawn(UInt64(CSYS_CLONE_FS))
        defer { Self.reap(a); Self.reap(b) }
        try #require(a > 0 && b > 0)
        let me = getpid()
        #expect(try SharedTaskState.check([(me, 1), (a, me), (b, me)]) == SharedTaskState.Sharing(fs: [b: me]))
    }

    @Test func fsSharedWithANonParentIsRefused() throws {
        let a = Self.spawn(0), b = Self.spawn(UInt64(CSYS_CLONE_FS))
        defer { Self.reap(a); Self.reap(b) }
        try #require(a > 0 && b > 0)
        let me = getpid()
        // As if b were a's child: its fs is shared with me, not with its parent.
        let e = try #require(throws: EngineError.self) { try SharedTaskState.check([(me, 1), (a, me), (b, a)]) }
        #expect("\(e)".contains("CLONE_FS") && "\(e)".contains("not its parent"), "\(e)")
    }

    @Test func anFdTableSharedWithTheParentIsRecordedForTheRestore() throws {
        let a = Self.spawn(0), b = Self.spawn(UInt64(CSYS_CLONE_FILES))
        defer { Self.reap(a); Self.reap(b) }
        try #require(a > 0 && b > 0)
        let me = getpid()
        let s = try SharedTaskState.check([(me, 1), (a, me), (b, me)])
        #expect(s.files == [b: me] && s.fs.isEmpty)
    }

    @Test func anFdTableSharedWithANonParentIsRefusedNamingBothPids() throws {
        let a = Self.spawn(0), b = Self.spawn(UInt64(CSYS_CLONE_FILES))
        defer { Self.reap(a); Self.reap(b) }
        try #require(a > 0 && b > 0)
        let me = getpid()
        // As if b were a's child: it shares my table, not its parent's.
        let e = try #require(throws: EngineError.self) { try SharedTaskState.check([(me, 1), (a, me), (b, a)]) }
        let text = "\(e)"
        #expect(text.contains("\(b)") && text.contains("\(me)") && text.contains("CLONE_FILES") && text.contains("not its parent"), "\(text)")
    }

    @Test func aRootSharingItsParentsFdTableIsRefused() throws {
        let b = Self.spawn(UInt64(CSYS_CLONE_FILES))
        defer { Self.reap(b) }
        try #require(b > 0)
        let me = getpid()
        let e = try #require(throws: EngineError.self) { try SharedTaskState.check([(b, me)]) }
        let text = "\(e)"
        #expect(text.contains("\(b)") && text.contains("\(me)") && text.contains("outside the dumped tree"), "\(text)")
    }

    /// Sharers of an address space or handlers are recreated by cloning each from its parent: a chain or
    /// fan-out under one member passes, two members whose parents do not share (siblings) are refused
    /// naming both.
    @Test func sharersMustBeOneFamily() throws {
        let parentOf: [Int32: Int32] = [10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 1]
        #expect(try SharedTaskState.family([10, 11, 12, 13], parentOf: parentOf, what: "x") == [11: 10, 12: 10, 13: 11])
        let e = try #require(throws: EngineError.self) { try SharedTaskState.family([20, 21], parentOf: parentOf, what: "address space") }
        #expect("\(e)".contains("21") && "\(e)".contains("20") && "\(e)".contains("not its parent or child"), "\(e)")
    }
}
