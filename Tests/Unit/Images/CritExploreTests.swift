import Foundation
import Images
import Testing
@testable import crit

/// A small image directory as a dump of two processes would leave it.
func makeImageDir(_ dir: String) throws {
    func write(_ kind: ImageKind, _ id: UInt64?, _ msgs: [any SwiftProtobuf.Message]) throws {
        let w = try ImageWriter(path: dir + "/" + kind.fileName(id), kind: kind)
        for m in msgs { try w.write(m) }
        try w.close()
    }
    var inv = InventoryEntry()
    inv.imgVersion = 2
    inv.fdinfoPerID = true
    try write(.inventory, nil, [inv])
    var parent = PstreeEntry(), child = PstreeEntry()
    parent.pid = 100; parent.ppid = 1; parent.pgid = 100; parent.sid = 100; parent.threads = [100, 101]
    child.pid = 102; child.ppid = 100; child.pgid = 100; child.sid = 100; child.threads = [102]
    try write(.pstree, nil, [parent, child])

    var reg = FileEntry()
    reg.type = .reg; reg.id = 1
    reg.reg.id = 1; reg.reg.flags = 2; reg.reg.pos = 0; reg.reg.name = "/tmp/data.txt"
    reg.reg.fown = FownEntry(); reg.reg.fown.uid = 0; reg.reg.fown.euid = 0; reg.reg.fown.signum = 0
    reg.reg.fown.pidType = 0; reg.reg.fown.pid = 0
    var root = reg
    root.id = 2; root.reg.id = 2; root.reg.name = "/"
    var exe = reg
    exe.id = 3; exe.reg.id = 3; exe.reg.name = "/usr/bin/sleep"
    var pipe = FileEntry()
    pipe.type = .pipe; pipe.id = 4
    pipe.pipe.id = 4; pipe.pipe.pipeID = 777; pipe.pipe.flags = 0; pipe.pipe.fown = reg.reg.fown
    try write(.files, nil, [reg, root, exe, pipe])

    for (pid, comm) in [(UInt32(100), "server"), (102, "worker")] {
        var core = CoreEntry()
        core.mtype = .x8664
        core.tc.taskState = 1; core.tc.exitCode = 0; core.tc.personality = 0; core.tc.flags = 0
        core.tc.blkSigset = 0; core.tc.comm = comm
        try write(.core, UInt64(pid), [core])
        var ids = TaskKobjIdsEntry()
        ids.vmID = pid; ids.filesID = pid; ids.fsID = pid; ids.sighandID = pid
        try write(.ids, UInt64(pid), [ids])
        var f0 = FdinfoEntry(), f1 = FdinfoEntry()
        f0.id = 1; f0.flags = 0; f0.type = .reg; f0.fd = 3
        f1.id = 4; f1.flags = 0; f1.type = .pipe; f1.fd = 4
        try write(.fdinfo, UInt64(pid), [f0, f1])
        var fs = FsEntry()
        fs.cwdID = 2; fs.rootID = 2
        try write(.fs, UInt64(pid), [fs])
        var mm = MmEntry()
        mm.mmStartCode = 0x400000; mm.mmEndCode = 0x401000; mm.mmStartData = 0; mm.mmEndData = 0
        mm.mmStartStack = 0x7ffd0000; mm.mmStartBrk = 0; mm.mmBrk = 0; mm.mmArgStart = 0; mm.mmArgEnd = 0
        mm.mmEnvStart = 0; mm.mmEnvEnd = 0; mm.exeFileID = 3
        var code = VmaEntry()
        code.start = 0x400000; code.end = 0x401000; code.pgoff = 0; code.shmid = 3; code.prot = 5; code.flags = 2
        code.status = VmaStatus.regular | VmaStatus.filePrivate; code.fd = -1
        var stack = VmaEntry()
        stack.start = 0x7ffd0000; stack.end = 0x7ffd4000; stack.pgoff = 0; stack.shmid = 0; stack.prot = 3
        stack.flags = 0x22; stack.status = VmaStatus.regular | VmaStatus.stack | VmaStatus.anonPrivate; stack.fd = -1
        mm.vmas = [code, stack]
        try write(.mm, UInt64(pid), [mm])
        var head = PagemapHead()
        head.pagesID = pid
        try write(.pagemap, UInt64(pid), [head, PagemapEntry(vaddr: 0x7ffd0000, pages: 3, flags: PagemapFlags.present)])
        let pages = try ImageWriter(path: dir + "/" + ImageKind.pages.fileName(UInt64(pid)), kind: .pages)
        try pages.writePayload([UInt8](repeating: 7, count: 3 * 4096))
        try pages.close()
    }
}

import SwiftProtobuf

@Suite struct CritExploreTests {
    @Test func psShowsTheTreeWithCommands() throws {
        let d = TempDir()
        try makeImageDir(d.path)
        let out = try ImageSet(dir: d.path).ps()
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[1].hasPrefix("100") && lines[1].hasSuffix("server"))
        #expect(lines[2].hasPrefix("102") && lines[2].hasSuffix("    worker"))  // indented under its parent
        #expect(lines[1].contains(" 2 "))  // two threads
    }

    @Test func fdsNameEveryDescriptor() throws {
        let d = TempDir()
        try makeImageDir(d.path)
        let out = try ImageSet(dir: d.path).fds()
        #expect(out.contains("3      : /tmp/data.txt"))
        #expect(out.contains("4      : pipe[777]"))
        #expect(out.contains("cwd    : /"))
    }

    @Test func memsAndRss() throws {
        let d = TempDir()
        try makeImageDir(d.path)
        let set = ImageSet(dir: d.path)
        let mems = try set.mems()
        #expect(mems.contains("/usr/bin/sleep"))
        #expect(mems.contains("400000-401000") && mems.contains("r-xp"))
        #expect(mems.contains("7ffd0000-7ffd4000") && mems.contains("[stack]"))
        let rss = try set.rss()
        #expect(rss.contains("7ffd0000/3"))
        #expect(rss.contains("total 3 pages"))
    }

    /// The built crit binary: exit 0 on a good directory, exit 1 and one line on bad input.
    @Test func cliExitStatusAndOneLineErrors() throws {
        let bin = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/crit").path
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            print("SKIP crit CLI test: \(bin) not built (run swift build first)")
            return
        }
        let d = TempDir()
        try makeImageDir(d.path)
        func run(_ args: [String]) throws -> (Int32, String, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bin)
            p.arguments = args
            let o = Pipe(), e = Pipe()
            p.standardOutput = o
            p.standardError = e
            try p.run()
            let out = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let err = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, out, err)
        }
        var (rc, out, err) = try run(["x", d.path, "ps"])
        #expect(rc == 0 && out.contains("worker"))
        (rc, out, _) = try run(["info", d.path + "/pstree.img"])
        #expect(rc == 0 && out.contains("\"count\": 2"))
        (rc, out, _) = try run(["show", d.path + "/core-100.img"])
        #expect(rc == 0 && out.contains("\"comm\": \"server\"") && out.contains("\"blk_sigset\": \"0x0\""))
        let garbage = d.path + "/garbage.img"
        _ = FileManager.default.createFile(atPath: garbage, contents: Data([1, 2, 3, 4, 5, 6, 7, 8]))
        for args in [["decode", "-i", garbage], ["decode", "-i", d.path + "/missing.img"],
                     ["decode", "-i", d.path + "/pages-100.img"], ["x", d.path, "nope"],
                     ["encode", "-i", garbage, "-o", d.path + "/out.img"], ["x", "/nonexistent", "ps"]] {
            (rc, out, err) = try run(args)
            #expect(rc == 1, "\(args)")
            #expect(err.hasPrefix("crit: ") && err.filter { $0 == "\n" }.count == 1, "\(args): \(err)")
        }
        // decode -o then encode gives the same bytes back
        (rc, _, _) = try run(["decode", "-i", d.path + "/mm-100.img", "-o", d.path + "/mm.json"])
        #expect(rc == 0)
        (rc, _, _) = try run(["encode", "-i", d.path + "/mm.json", "-o", d.path + "/mm-back.img"])
        #expect(rc == 0)
        #expect(FileManager.default.contents(atPath: d.path + "/mm-back.img")
                == FileManager.default.contents(atPath: d.path + "/mm-100.img"))
        // -o writes into what is there (a symlink, /dev/null): it never renames a new file over it
        try FileManager.default.createSymbolicLink(atPath: d.path + "/link.json", withDestinationPath: d.path + "/target.json")
        (rc, _, _) = try run(["decode", "-i", d.path + "/mm-100.img", "-o", d.path + "/link.json"])
        #expect(rc == 0)
        let attrs = try FileManager.default.attributesOfItem(atPath: d.path + "/link.json")
        #expect(attrs[.type] as? FileAttributeType == .typeSymbolicLink)
        #expect((FileManager.default.contents(atPath: d.path + "/target.json")?.count ?? 0) > 0)
    }
}
