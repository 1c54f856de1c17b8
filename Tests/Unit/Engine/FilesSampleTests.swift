import Glibc
import Testing
@testable import Engine

@Suite struct FilesSampleTests {
    @Test func fdinfoGenericAndEventfd() throws {
        let i = try Fdinfo.parse("pos:\t0\nflags:\t02004002\nmnt_id:\t15\nino:\t1057\neventfd-count:               11\neventfd-id: 3\n")
        #expect(i.pos == 0 && i.flags == 0o2004002 && i.mntId == 15 && i.ino == 1057)
        #expect(i.value("eventfd-count") == "11" && i.value("eventfd-id") == "3")
        #expect(i.extra.count == 2)
    }

    @Test func fdinfoEpollInotifyLocksKeepOrder() throws {
        let text = """
        pos:\t0
        flags:\t02
        mnt_id:\t16
        ino:\t2077
        tfd:        5 events:       19 data:                5  pos:0 ino:3 sdev:f
        tfd:        7 events:        1 data:       ffffffffffffffff  pos:0 ino:4 sdev:f
        inotify wd:1 ino:2a sdev:800001 mask:fff ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2a0000000b3c8f17
        inotify wd:2 ino:2b sdev:800001 mask:2 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2b0000000b3c8f17
        settime flags:	01
        lock:\t1: POSIX  ADVISORY  WRITE 21919 fe:00:253911 0 EOF

        """
        let i = try Fdinfo.parse(text)
        #expect(i.values("tfd").count == 2)
        let t = Fdinfo.tokens(i.values("tfd")[1])
        #expect(t.map { $0.key } == ["", "events", "data", "pos", "ino", "sdev"])
        #expect(t.map { $0.value } == ["7", "1", "ffffffffffffffff", "0", "4", "f"])
        #expect(i.values("inotify").count == 2)
        let wt = Fdinfo.tokens(i.values("inotify")[1])
        #expect(wt.first { $0.key == "wd" }?.value == "2" && wt.first { $0.key == "mask" }?.value == "2")
        #expect(wt.first { $0.key == "f_handle" }?.value == "2b0000000b3c8f17")
        #expect(i.value("settime flags") == "01")
        #expect(i.value("lock")?.hasPrefix("1: POSIX") == true)
    }

    @Test func fdinfoFanotify() throws {
        let i = try Fdinfo.parse("pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t9\nfanotify flags:10 event-flags:0\nfanotify mnt_id:20 mflags:0 mask:3b ignored_mask:40000000\n")
        #expect(i.values("fanotify") == ["flags:10 event-flags:0", "mnt_id:20 mflags:0 mask:3b ignored_mask:40000000"])
        #expect(Fdinfo.tokens(i.values("fanotify")[1]).map { $0.key } == ["mnt_id", "mflags", "mask", "ignored_mask"])
    }

    @Test func fdinfoNeedsGenericFields() {
        #expect(throws: ProcError.self) { try Fdinfo.parse("pos:\t0\nflags:\t02\nmnt_id:\t15\n") }
        #expect(throws: ProcError.self) { try Fdinfo.parse("pos:\t0\nflags:\t09\nmnt_id:\t15\nino:\t1\n") }
    }

    @Test func fdTargets() {
        #expect(FdTarget.parse("pipe:[123]") == .pipe(inode: 123))
        #expect(FdTarget.parse("socket:[9]") == .socket(inode: 9))
        #expect(FdTarget.parse("anon_inode:[eventfd]") == .anonInode("eventfd"))
        #expect(FdTarget.parse("anon_inode:inotify") == .anonInode("inotify"))
        #expect(FdTarget.parse("net:[4026531840]") == .kernelObject(type: "net", inode: 4026531840))
        #expect(FdTarget.parse("/memfd:x (deleted)") == .path("/memfd:x", deleted: true))
        #expect(FdTarget.parse("/a b/c") == .path("/a b/c", deleted: false))
        #expect(FdTarget.parse("/dev/null") == .path("/dev/null", deleted: false))
    }

    @Test func mountinfoEscapesAndOptionalFields() throws {
        let text = """
        22 27 0:21 / /proc rw,relatime - proc proc rw
        36 35 98:0 /mnt\\0401 /mnt\\040with\\040space\\011tab rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue
        37 36 0:5 / /x rw unbindable - tmpfs none rw
        38 36 0:6 /sub /y ro,nosuid shared:3 master:2 propagate_from:1 foo:9 - overlay my\\134src rw,lowerdir=/a

        """
        let m = try Mountinfo.parse(text)
        #expect(m.count == 4)
        #expect(m[0].mountId == 22 && m[0].parentId == 27 && m[0].devMajor == 0 && m[0].devMinor == 21)
        #expect(m[0].mountPoint == "/proc" && m[0].fsType == "proc" && m[0].superOptions == "rw")
        #expect(m[0].shared == nil && m[0].master == nil && !m[0].unbindable)
        #expect(m[1].root == "/mnt 1" && m[1].mountPoint == "/mnt with space\ttab" && m[1].devMajor == 98)
        #expect(m[1].master == 1 && m[1].shared == 7 && m[1].source == "/dev/root")
        #expect(m[1].options == "rw,noatime" && m[1].superOptions == "rw,errors=continue")
        #expect(m[2].unbindable && m[2].source == "none")
        #expect(m[3].propagateFrom == 1 && m[3].shared == 3 && m[3].master == 2)
        #expect(m[3].otherOptionalFields == ["foo:9"] && m[3].source == "my\\src")
    }

    @Test func mountinfoWithoutSeparatorIsAnError() {
        #expect(throws: ProcError.self) { try Mountinfo.parse("22 27 0:21 / /proc rw,relatime proc proc rw\n") }
    }

    @Test func auxvPairs() throws {
        var bytes: [UInt8] = []
        for v: UInt64 in [33, 0x7ffd000, 6, 4096, 9, 0x401000, 0, 0, 77, 77] {
            withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        }
        let a = try Auxv.parse(bytes)
        #expect(a == [AuxEntry(type: 33, value: 0x7ffd000), AuxEntry(type: 6, value: 4096),
                      AuxEntry(type: 9, value: 0x401000), AuxEntry(type: 0, value: 0)])
        #expect(Auxv.value(a, 6) == 4096 && Auxv.value(a, 99) == nil)
        #expect(throws: ProcError.self) { try Auxv.parse(Array(bytes[0..<24])) }
        #expect(throws: ProcError.self) { try Auxv.parse(Array(bytes[0..<16])) }
    }

    @Test func nulSeparatedKeepsBytes() {
        let b: [UInt8] = Array("a b".utf8) + [0, 0xff, 0] + Array("tail".utf8)
        #expect(NulSeparated.split(b) == [Array("a b".utf8), [0xff], Array("tail".utf8)])
        #expect(NulSeparated.split([]) == [])
    }

    @Test func childrenList() throws {
        #expect(try Tasks.parseChildren("12 345 6789 ") == [12, 345, 6789])
        #expect(try Tasks.parseChildren("") == [])
        #expect(throws: ProcError.self) { try Tasks.parseChildren("12 x") }
    }

    @Test func octalUnescape() {
        #expect(TextFields.unescapeOctal("a\\040b\\134\\012") == "a b\\\n")
        #expect(TextFields.unescapeOctal("trailing\\04") == "trailing\\04")
        #expect(TextFields.unescapeOctal("not\\999") == "not\\999")
    }
}

@Suite struct NamespaceTests {
    @Test func links() throws {
        #expect(try Namespaces.parseLink("net:[4026531840]") == NamespaceId(name: "net", inode: 4026531840))
        #expect(throws: ProcError.self) { try Namespaces.parseLink("/proc/1/ns/net") }
        #expect(throws: ProcError.self) { try Namespaces.parseLink("net:[x]") }
    }

    @Test func ownNamespacesAreSeen() throws {
        let ns = try Namespaces.read(pid: getpid())
        for kind in ["mnt", "net", "pid", "user", "uts", "ipc"] {
            #expect(ns.contains { $0.name == kind && $0.inode != 0 }, "\(kind)")
        }
        #expect(ns.map { $0.name } == ns.map { $0.name }.sorted())
    }
}
