import Glibc
import CSys
import Compel

/// Scans a task's pagemap and lists its pages into the PagesWriter (PageLayout.prepare) on a thread of
/// its own, started right after the task's maps are read: meanwhile the main thread injects into the
/// task and reads its state, mostly waiting on ptrace stops. On a sparse GiB this takes 3-8 ms that the
/// dump no longer waits for.
///
/// The scan sees the memory as it was before the injection. The only pages an injection can add are
/// stack pages below a thread's red zone that Compel's way-back frames (docs/compel.md) touch: dead
/// data, left out of the image like anything else below the stack pointer that was never touched.
///
/// Lifetime: the thread blocks every signal, makes no ptrace call and touches only /proc and the
/// PagesWriter, which nobody else uses until `finish` (or deinit) has joined it.
final class EarlyPageScan {
    private struct Shared {
        let task: SeizedTask
        let vmas: [VMA]
        let pages: PagesWriter
        /// CPUs for the thread: criu's, less the one its main thread is held on.
        var cpus: [UInt64]?
        var result: Result<PageLayout, Error>?
    }
    private let shared: UnsafeMutablePointer<Shared>
    private var thread: pthread_t?
    /// The main thread's CPUs before it was held on one of them.
    private var mainCPUs: [UInt64]?

    init(task: SeizedTask, vmas: [VMA], pages: PagesWriter) {
        shared = .allocate(capacity: 1)
        shared.initialize(to: Shared(task: task, vmas: vmas, pages: pages))
        // Each injected call is a round trip between criu and the task, in which criu polls with
        // sched_yield; a yield to a scan on the same CPU gives the CPU away until the next tick, even at
        // idle priority (~7 ms more for the injection with the scan beside it). So the main thread is
        // held on one CPU and the scan runs on the others, until `releaseCPUs`; on one CPU, the scan
        // shares it at idle priority.
        if let words = try? TaskProps.dumpAffinity(tid: 0),
           words.reduce(0, { $0 + $1.nonzeroBitCount }) >= 2,
           let w = words.firstIndex(where: { $0 != 0 }) {
            let bit = UInt64(1) << UInt64(words[w].trailingZeroBitCount)
            var one = [UInt64](repeating: 0, count: words.count)
            one[w] = bit
            var rest = words
            rest[w] &= ~bit
            if csys_sys_sched_setaffinity(0, one.count * 8, one) == 0 {
                mainCPUs = words
                shared.pointee.cpus = rest
            }
        }
        let (tid, r) = startQuietThread(UnsafeMutableRawPointer(shared)) { ctx in
            let s = ctx!.assumingMemoryBound(to: Shared.self)
            if let cpus = s.pointee.cpus { _ = csys_sys_sched_setaffinity(0, cpus.count * 8, cpus) }
            var param = sched_param()
            _ = sched_setscheduler(0, CSYS_SCHED_IDLE, &param)
            EarlyPageScan.run(s)
            return nil
        }
        if r == 0 { thread = tid } else { releaseCPUs() }
    }

    deinit {
        releaseCPUs()
        join()
        shared.deinitialize(count: 1)
        shared.deallocate()
    }

    /// Gives the main thread back all of its CPUs, before it starts threads that must spread over them
    /// (smaps reader, copy workers inherit its mask).
    func releaseCPUs() {
        guard let words = mainCPUs else { return }
        mainCPUs = nil
        _ = csys_sys_sched_setaffinity(0, words.count * 8, words)
    }

    /// Waits for the thread and returns the layout, or throws what the scan threw. Without a thread
    /// (none could be started) the scan runs here.
    func finish() throws -> (layout: PageLayout, waitedMicros: UInt64) {
        releaseCPUs()
        let t0 = Clock.micros()
        join()
        if shared.pointee.result == nil { Self.run(shared) }
        return (try shared.pointee.result!.get(), Clock.micros() - t0)
    }

    private static func run(_ s: UnsafeMutablePointer<Shared>) {
        s.pointee.result = Result(catching: {
            let task = s.pointee.task
            let sources = s.pointee.vmas.compactMap { v in MemoryPlanner.pageSource(v).map { (v, $0) } }
            return try PageLayout.prepare(task: task, sources: sources, pagemap: try Pagemap(pid: task.pid),
                                          pages: s.pointee.pages)
        })
    }

    private func join() {
        guard let t = thread else { return }
        thread = nil
        pthread_join(t, nil)
    }
}
