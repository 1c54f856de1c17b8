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
        // Between them, pages of a file (2 of data, 1 past its end): batches of their own.
        let runs = [(0, 1), (2, 2), (5, 1), (10, 11), (38, 5), (63, 1)]
        let fileAfterRun = 2
        let source = TempFile(pages: 3, byte: 0xAB)
        let file = TempFile(pages: 0, byte: 0)
        let task = try SeizedTask.seize(child.pid, timeout: .seconds(10))
        var midways = 0
        do {
            let w = try PagesWriter(path: file.path, bufferBytes: 4 * testPageSize, workers: 2)
            for (i, (first, n)) in runs.enumerated() {
                w.copy(from: task, address: base + UInt64(first * testPageSize), nrPages: UInt64(n))
                if i == fileAfterRun { w.copy(fromFile: source.fd, offset: UInt64(testPageSize), nrPages: 3, path: source.path) }
            }
            try w.create()
            try w.finish { midways += 1 }
            #expect(w.pagesWritten == UInt64(runs.reduce(0) { $0 + $1.1 } + 3))
        } catch {
            try? task.cure()
            throw error
        }
        try task.cure()
        #expect(midways == 1)

        // nil: a page of the file; it reads 0xAB within the file and zero past its end.
        var expected: [(task: Int?, fill: UInt64)] = []
        for (i, (first, n)) in runs.enumerated() {
            expected += (first..<(first + n)).map { ($0, 0) }
            if i == fileAfterRun { expected += [(nil, 0xABAB_ABAB_ABAB_ABAB), (nil, 0xABAB_ABAB_ABAB_ABAB), (nil, 0)] }
        }
        var st = stat()
        #expect(stat(file.path, &st) == 0 && Int(st.st_size) == expected.count * testPageSize)
        let fd = open(file.path, O_RDONLY)
        defer { close(fd) }
        var buf = [UInt64](repeating: 0, count: testPageSize / 8)
        for (i, page) in expected.enumerated() {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, testPageSize, off_t(i * testPageSize)) }
            #expect(n == testPageSize)
            let wrong = (0..<buf.count).first { w in buf[w] != (page.task.map { Self.pattern($0, w) } ?? page.fill) }
            #expect(wrong == nil, "image page \(i) (\(page.task.map { "task page \($0)" } ?? "file page")) differs at word \(wrong ?? -1)")
        }
    }

    /// Workers take turns writing and read ahead while another writes: with many one-page batches and
    /// more workers than CPUs, every batch still lands at its own offset, each exactly once.
    @Test func manyBatchesOnTakenTurnsLandInPlace() throws {
        let pages = 600
        let source = TempFile(pages: 0, byte: 0)
        var page = [UInt64](repeating: 0, count: testPageSize / 8)
        for pg in 0..<pages {
            for w in page.indices { page[w] = Self.pattern(pg, w) }
            let n = page.withUnsafeBytes { pwrite(source.fd, $0.baseAddress, testPageSize, off_t(pg * testPageSize)) }
            try #require(n == testPageSize)
        }
        for workers in [2, 4] {
            let file = TempFile(pages: 0, byte: 0)
            let w = try PagesWriter(path: file.path, bufferBytes: testPageSize, workers: workers)
            // Backwards, two pages at a time: file order differs from source order.
            for pg in stride(from: pages - 2, through: 0, by: -2) {
                w.copy(fromFile: source.fd, offset: UInt64(pg * testPageSize), nrPages: 2, path: source.path)
            }
            try w.create()
            try w.finish()
            #expect(w.copySummary.contains("on \(workers) threads"), "\(w.copySummary)")
            var st = stat()
            #expect(fstat(file.fd, &st) == 0 && Int(st.st_size) == pages * testPageSize)
            let fd = open(file.path, O_RDONLY)
            defer { close(fd) }
            var bad = 0
            for i in 0..<pages {
                let pg = (pages - 2 - (i / 2) * 2) + i % 2
                let n = page.withUnsafeMutableBytes { pread(fd, $0.baseAddress, testPageSize, off_t(i * testPageSize)) }
                if n != testPageSize || page.indices.contains(where: { page[$0] != Self.pattern(pg, $0) }) { bad += 1 }
            }
            #expect(bad == 0, "\(bad) of \(pages) image pages wrong with \(workers) workers")
        }
    }

    /// An error from `midway` (the mid-memory fault) stops the copy and comes out of `finish` once the
    /// helpers are joined.
    @Test func midwayErrorStopsTheCopy() throws {
        let source = TempFile(pages: 32, byte: 7)
        let file = TempFile(pages: 0, byte: 0)
        let w = try PagesWriter(path: file.path, bufferBytes: testPageSize, workers: 2)
        w.copy(fromFile: source.fd, offset: 0, nrPages: 32, path: source.path)
        struct Stop: Error {}
        try w.create()
        #expect(throws: Stop.self) { try w.finish { throw Stop() } }
    }

    /// A failed write in a helper thread reaches the caller as one error naming the image and errno, and
    /// the threads still end (finish returns instead of hanging); a writer dropped without finish only
    /// closes its file.
    @Test func writeErrorComesBackFromTheWorkers() throws {
        let w = try PagesWriter(path: "/dev/full", bufferBytes: 2 * testPageSize, workers: 2)
        let src = try #require(mmap(nil, 16 * testPageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0))
        defer { munmap(src, 16 * testPageSize) }
        let shm = open("/proc/self/map_files/" + mapFilesName(src, 16 * testPageSize), O_RDONLY)
        try #require(shm >= 0)
        defer { close(shm) }
        var thrown: Error?
        do {
            w.copy(fromFile: shm, offset: 0, nrPages: 16, path: "shm")
            try w.create()
            try w.finish()
        } catch {
            thrown = error
        }
        let text = "\(thrown.map { String(describing: $0) } ?? "no error")"
        #expect(text.contains("/dev/full") && text.contains("No space left"), "\(text)")
        try PagesWriter(path: "/dev/null", bufferBytes: testPageSize, workers: 3).create()
    }

    private func mapFilesName(_ p: UnsafeMutableRawPointer, _ len: Int) -> String {
        let a = UInt(bitPattern: p)
        return String(a, radix: 16) + "-" + String(a + UInt(len), radix: 16)
    }
}
