import CSys
import Glibc
import SystemPackage
import Testing
@testable import Compel

let blobFlags = ["-c", "-fpie", "-nostdlib", "-ffreestanding", "-O2"]

func readFileBytes(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw TestFailure(description: "open \(path)") }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

@Suite(.serialized) struct BlobAndMemoryTests {
    let victimBin: String
    init() throws { victimBin = try Built.victim.get() }

    @Test func blobReadsSharedAreaCallsSyscallAndWritesBack() throws {
        let obj = try Built.blob.get()
        let blob = try Blob(elfObject: try readFileBytes(obj), entry: "blob_main")
        let v = try Victim(victimBin, ["compute"])
        _ = try v.readLine()
        usleep(50_000)
        let mapsBefore = try readMaps(pid: v.pid)
        let task = try SeizedTask.seize(v.pid)
        let regs0 = try getRegisters(tid: v.pid)
        let x0 = try getXsave(tid: v.pid)
        let area = try task.createSharedArea(size: 4096)
        #expect(try readMaps(pid: v.pid).contains { $0.start == area.remote && $0.shared })
        area.local.storeBytes(of: 0x1122334455667788 as UInt64, toByteOffset: 4000, as: UInt64.self)
        #expect(try task.readMemory(at: area.remote + 4000, count: 2) == [0x88, 0x77])
        try task.writeMemory(at: area.remote + 4008, bytes: [9, 8, 7])
        #expect(area.local.load(fromByteOffset: 4008, as: UInt8.self) == 9)
        let longs = area.local.bindMemory(to: Int.self, capacity: 69)
        let values = (0..<64).map { $0 * 7 - 100 }
        longs[0] = values.count
        for (i, x) in values.enumerated() { longs[1 + i] = x }
        let weights = [3, 5, 7, 11]
        let expected = values.enumerated().reduce(0) { $0 + $1.element * weights[$1.offset % 4] }
        let ret = try task.runBlob(blob, argument: area.remote)
        #expect(longs[65] == expected)
        #expect(longs[66] == Int(v.pid))
        #expect(Int(bitPattern: UInt(ret)) == expected ^ 0x5a5a)
        #expect(longs[68] == 1)
        // Again with the other table (reached through an absolute pointer): a fresh load, so .bss is fresh too.
        longs[0] = 4
        longs[67] = 1
        #expect(Int(bitPattern: UInt(try task.runBlob(blob, argument: area.remote))) == (values[0] + values[1] + values[2] + values[3]) ^ 0x5a5a)
        #expect(longs[68] == 1)
        #expect(try getRegisters(tid: v.pid) == regs0)
        #expect(try getXsave(tid: v.pid) == x0)
        try task.cure()
        #expect(try readMaps(pid: v.pid) == mapsBefore)
        v.send("q")
        #expect(try v.readLine().hasPrefix("ok "))
        #expect(try v.waitExit() == 0)
    }

    @Test func blobWithExternalSymbolIsRefused() throws {
        let obj = try Built.blobExternal.get()
        #expect(throws: BlobError.self) { _ = try Blob(elfObject: try readFileBytes(obj), entry: "blob_main") }
        #expect(throws: BlobError.self) { _ = try Blob(elfObject: [0x7f, 0x45, 0x4c, 0x46], entry: "x") }
        let good = try Built.blob.get()
        #expect(throws: BlobError("entry symbol 'nope' not found")) { _ = try Blob(elfObject: try readFileBytes(good), entry: "nope") }
    }

    @Test func faultingBlobIsAnErrorAndVictimSurvives() throws {
        // mov (0), %rax: reads address 0.
        let blob = Blob(code: [0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0xc3])
        let v = try Victim(victimBin, ["compute"])
        _ = try v.readLine()
        let task = try SeizedTask.seize(v.pid)
        #expect(throws: CompelError.self) { try task.runBlob(blob, argument: 0) }
        #expect(try task.syscall(Int(SYS_getpid)) == Int64(v.pid))
        try task.cure()
        v.send("q")
        #expect(try v.readLine().hasPrefix("ok "))
        #expect(try v.waitExit() == 0)
    }

    @Test(arguments: [[0xeb, 0xfe] /* jmp . */, [0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7] /* getpid forever */])
    func runawayBlobTimesOutAndIsStopped(code: [UInt8]) throws {
        let blob = Blob(code: code)
        let v = try Victim(victimBin, ["compute"])
        _ = try v.readLine()
        let task = try SeizedTask.seize(v.pid, timeout: .seconds(1))
        do {
            try task.runBlob(blob, argument: 0)
            Issue.record("an endless blob returned")
        } catch let e as CompelError {
            #expect(e.errno == .timedOut)
        }
        #expect(try task.syscall(Int(SYS_getpid)) == Int64(v.pid))
        try task.cure()
        v.send("q")
        #expect(try v.readLine().hasPrefix("ok "))
        #expect(try v.waitExit() == 0)
    }

    @Test func rawBlobReturnsItsValue() throws {
        // lea 1(%rdi), %rax; ret
        let blob = Blob(code: [0x48, 0x8d, 0x47, 0x01, 0xc3])
        let v = try Victim(victimBin, ["pause"])
        _ = try v.readLine()
        let task = try SeizedTask.seize(v.pid)
        #expect(try task.runBlob(blob, argument: 41) == 42)
        try task.cure()
    }

    @Test func memoryThroughProcMemForProtNoneAndReadOnlyPages() throws {
        let v = try Victim(victimBin, ["pause"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        let task = try SeizedTask.seize(v.pid)
        let addr = try task.mapRemote(length: 8192)
        try task.writeMemory(at: addr, bytes: Array("secret".utf8))
        #expect(try task.syscall(Int(SYS_mprotect), addr, 8192, UInt64(PROT_NONE)) == 0)
        // process_vm_readv cannot see it; Compel falls back to /proc/PID/mem.
        #expect(vmRead(v.pid, addr, 6) == nil)
        #expect(try task.readMemory(at: addr, count: 6) == Array("secret".utf8))
        try task.writeMemory(at: addr + 4096, bytes: [1, 2, 3])
        #expect(try task.readMemory(at: addr + 4096, count: 3) == [1, 2, 3])
        // Read-only text: write and put back.
        let text = try readMaps(pid: v.pid).first { $0.executable && !$0.writable && $0.path.hasSuffix("/victim") }!
        let orig = try task.readMemory(at: text.start, count: 4)
        try task.writeMemory(at: text.start, bytes: [0xcc, 0xcc, 0xcc, 0xcc])
        #expect(try task.readMemory(at: text.start, count: 4) == [0xcc, 0xcc, 0xcc, 0xcc])
        try task.writeMemory(at: text.start, bytes: orig)
        try task.cure()
        #expect(try !readMaps(pid: v.pid).contains { $0.start == addr })
        #expect(throws: CompelError.self) { _ = try task.readMemory(at: 0, count: 1) }
    }

    @Test func withoutVdsoTheSyscallSiteIsPatchedAndRestored() throws {
        let v = try Victim(victimBin, ["novdso"])
        _ = try v.readLine()
        #expect(waitAsleep(v.pid))
        #expect(try !readMaps(pid: v.pid).contains { $0.path == "[vdso]" })
        let text = try readMaps(pid: v.pid).first { $0.executable }!
        let task = try SeizedTask.seize(v.pid)
        let orig = try task.readMemory(at: text.start, count: 16)
        #expect(try task.usesVdsoSyscall == false)
        #expect(try task.syscall(Int(SYS_getpid)) == Int64(v.pid))
        #expect(try task.readMemory(at: text.start, count: 2) == [0x0f, 0x05])
        try task.cure()
        let check = try SeizedTask.seize(v.pid)
        #expect(try check.readMemory(at: text.start, count: 16) == orig)
        try check.cure()
        #expect(waitAsleep(v.pid))
    }
}
