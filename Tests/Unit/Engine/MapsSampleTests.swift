import Testing
@testable import Engine

private let sampleMaps = """
55d4a3a00000-55d4a3a02000 r--p 00000000 08:01 1234567                    /usr/bin/cat
55d4a3a02000-55d4a3a07000 r-xp 00002000 08:01 1234567                    /usr/bin/cat
55d4a4c00000-55d4a4c21000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000001000 rw-s 00000000 00:01 2048                       /dev/zero (deleted)
7f0000001000-7f0000002000 rw-s 00000000 00:01 5                          /memfd:x (deleted)
7f0000002000-7f0000003000 r--p 00001000 fd:00 42                         /tmp/dir with spaces/file  name (deleted)
7f0000003000-7f0000004000 ---p 00000000 00:00 0 
7f0000004000-7f0000005000 rw-p 00000000 00:00 0                          [anon:my name]
7f0000005000-7f0000006000 rw-s 00000000 00:01 77                         [anon_shmem:shm]
7f0000006000-7f0000007000 rw-s 00000000 00:01 32768                      /SYSV0000abcd (deleted)
7f0000007000-7f0000008000 r--s 00000000 103:05 99                        /data/a) (b [c]
7f0000008000-7f0000009000 rw-p 00000000 00:00 0
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
7ffc00100000-7ffc00104000 r--p 00000000 00:00 0                          [vvar]
7ffc00104000-7ffc00106000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffc00106000-7ffc00108000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]

"""

@Suite struct MapsSampleTests {
    @Test func everyKindOfLine() throws {
        let v = try Maps.parse(sampleMaps)
        #expect(v.count == 17)
        #expect(v[0] == VMA(start: 0x55d4a3a00000, end: 0x55d4a3a02000, prot: [.read], shared: false, offset: 0,
                            devMajor: 8, devMinor: 1, inode: 1234567, kind: .file(path: "/usr/bin/cat", deleted: false)))
        #expect(v[1].prot == [.read, .exec] && v[1].offset == 0x2000)
        #expect(v[2].kind == .heap && v[2].prot == [.read, .write] && v[2].isAnonymousPrivate)
        #expect(v[3].isSharedAnonymous && v[3].shared && v[3].kind == .file(path: "/dev/zero", deleted: true))
        #expect(v[4].isMemfd && v[4].path == "/memfd:x" && v[4].isDeleted && !v[4].isSharedAnonymous)
        #expect(v[5].kind == .file(path: "/tmp/dir with spaces/file  name", deleted: true))
        #expect(v[5].devMajor == 0xfd && v[5].offset == 0x1000)
        #expect(v[6].kind == .anonymous && v[6].prot == [] && v[6].size == 0x1000)
        #expect(v[7].kind == .anonNamed("my name"))
        #expect(v[8].kind == .anonShmemNamed("shm") && v[8].isSharedAnonymous)
        #expect(v[9].isSysVShm)
        #expect(v[10].kind == .file(path: "/data/a) (b [c]", deleted: false) && v[10].devMajor == 0x103)
        #expect(v[11].kind == .anonymous, "no trailing space after the inode")
        #expect(v[12].kind == .stack && v[13].kind == .vvar && v[14].kind == .vvarVClock)
        #expect(v[15].kind == .vdso && v[16].kind == .vsyscall && v[16].start == 0xffffffffff600000)
        #expect(v[4].mapFilesName == "7f0000001000-7f0000002000")
    }

    @Test func malformedLinesAreErrorsNamingTheSource() {
        for bad in ["zz-10 rw-p 0 00:00 0", "10-20 rw-p 0 0000 0", "20-10 rw-p 0 00:00 0", "10-20 rw 0 00:00 0",
                    "10-20 rw-p 0 00:00"] {
            do {
                _ = try Maps.parse(bad, source: "/proc/1/maps")
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.path == "/proc/1/maps" && error.operation == "parse")
            }
        }
    }

    @Test func smapsCountersAndFlags() throws {
        let text = """
        56011c181000-56011c183000 r--p 00000000 fe:00 253911                     /usr/bin/cat
        Size:                  8 kB
        Rss:                   8 kB
        Anonymous:             0 kB
        Locked:                4 kB
        THPeligible:           0
        VmFlags: rd mr mw me lo gd dd wf zz
        7ffe00000000-7ffe00021000 rw-p 00000000 00:00 0                          [stack]
        Size:                132 kB
        Swap:                 12 kB
        VmFlags: rd wr mr mw me gd ac 
        """
        let e = try Smaps.parse(text)
        #expect(e.count == 2)
        #expect(e[0].vma.path == "/usr/bin/cat" && e[0].kB("Size") == 8 && e[0].kB("Locked") == 4)
        #expect(e[0].fields["THPeligible"] == 0)
        let f = try #require(e[0].vma.flags)
        #expect(f.known == [.read, .mayRead, .mayWrite, .mayExec, .locked, .growsDown, .dontDump, .wipeOnFork])
        #expect(f.unknown == ["zz"])
        #expect(f.mnemonics == ["rd", "mr", "mw", "me", "gd", "lo", "wf", "dd", "zz"])
        #expect(e[1].vma.kind == .stack && e[1].kB("Swap") == 12)
        #expect(e[1].vma.flags?.contains(.account) == true && e[1].vma.flags?.unknown == [])
    }

    @Test func smapsCounterBeforeAnyVMAIsAnError() {
        #expect(throws: ProcError.self) { try Smaps.parse("Size: 8 kB\n") }
    }
}
