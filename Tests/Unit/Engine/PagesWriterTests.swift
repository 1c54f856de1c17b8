import Glibc
import Testing
import Compel
@testable import Engine

/// PagesWriter against a real child: scattered runs gathered into few process_vm_readv calls, a buffer
/// smaller than a run, and a PROT_NONE page (process_vm_readv refuses it) that must come through the
/// fallback reader; the image holds exactly the queued pages, in order.
@Suite(.serialized) struct PagesWriterTests {
    static func pattern(_ page: Int, _ word: Int) -> UInt64 { UInt64(page &* 1_000_003 &+ word) &* 0x9E37_79B9_7F4A_7C15 }

    @Test func gathersRunsAndFallsBackOnUnreadablePages() throws {
        let pages = 64
        let child = ChildProcess { report in
            let len = pages * testPageSize
            guard let p = mmap(nil, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
                report(0); return
            }
            let words = testPageSize / 8
            for pg in 0..<pages {
                let q = (p + pg * testPageSize).assumingMemoryBound(to: UInt64.self)
                for w in 0..<words { q[w] = PagesWriterTests.pattern(pg, w) }
            }
            mprotect(p + 40 * testPageSize, testPageSize, PROT_NONE)
            report(UInt64(UInt(bitPattern: p)))
        }
        defer { child.kill() }
        let base = child.next()
        try #require(base != 0)
        #expect(child.waitSleeping())
        // (first page, count): single pages, a run longer than the buffer, the PROT_NONE page inside a run.
        let runs = [(0, 1), (2, 2), (5, 1), (10, 11), (38, 5), (63, 1)]
        let file = TempFile(pages: 0, byte: 0)
        let task = try SeizedTask.seize(child.pid, timeout: .seconds(10))
        do {
            let w = try PagesWriter(path: file.path, bufferBytes: 4 * testPageSize)
            for (first, n) in runs {
                try w.copy(from: task, address: base + UInt64(first * testPageSize), nrPages: UInt64(n))
            }
            try w.finish()
            #expect(w.pagesWritten == UInt64(runs.reduce(0) { $0 + $1.1 }))
        } catch {
            try? task.cure()
            throw error
        }
        try task.cure()

        let expected = runs.flatMap { (first, n) in (first..<(first + n)) }
        var st = stat()
        #expect(stat(file.path, &st) == 0 && Int(st.st_size) == expected.count * testPageSize)
        let fd = open(file.path, O_RDONLY)
        defer { close(fd) }
        var buf = [UInt64](repeating: 0, count: testPageSize / 8)
        for (i, pg) in expected.enumerated() {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, testPageSize, off_t(i * testPageSize)) }
            #expect(n == testPageSize)
            let bad = (0..<buf.count).first { buf[$0] != Self.pattern(pg, $0) }
            #expect(bad == nil, "page \(pg) (image page \(i)) differs at word \(bad ?? -1)")
        }
    }

    /// A failed write in the writer thread reaches the caller as one error naming the image and errno, and
    /// the thread still ends (finish returns instead of hanging); a second writer dropped without finish
    /// joins its thread in deinit.
    @Test func writeErrorComesBackFromTheWriterThread() throws {
        let w = try PagesWriter(path: "/dev/full", bufferBytes: 2 * testPageSize, slots: 2)
        let src = try #require(mmap(nil, 16 * testPageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0))
        defer { munmap(src, 16 * testPageSize) }
        let shm = open("/proc/self/map_files/" + mapFilesName(src, 16 * testPageSize), O_RDONLY)
        try #require(shm >= 0)
        defer { close(shm) }
        var thrown: Error?
        do {
            try w.copy(fromFile: shm, offset: 0, nrPages: 16, path: "shm")
            try w.finish()
        } catch {
            thrown = error
        }
        let text = "\(thrown.map { String(describing: $0) } ?? "no error")"
        #expect(text.contains("/dev/full") && text.contains("No space left"), "\(text)")
        _ = try PagesWriter(path: "/dev/null", bufferBytes: testPageSize, slots: 3)
    }

    private func mapFilesName(_ p: UnsafeMutableRawPointer, _ len: Int) -> String {
        let a = UInt(bitPattern: p)
        return String(a, radix: 16) + "-" + String(a + UInt(len), radix: 16)
    }
}
