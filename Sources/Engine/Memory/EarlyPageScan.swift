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
/// The thread (a QuietJob) makes no ptrace call and touches only /proc and the PagesWriter, which
/// nobody else uses until `finish` (or deinit) has joined it.
final class EarlyPageScan {
    private let task: SeizedTask
    private let vmas: [VMA]
    private let pages: PagesWriter
    private var job: QuietJob<Result<PageLayout, Error>>?
    /// What `finish` returned first: a second call must not list the pages into the writer again.
    private var result: Result<PageLayout, Error>?
    /// The main thread's CPUs before it was held on one of them.
    private var mainCPUs: [UInt64]?

    /// `cpus`: criu's affinity mask, as the dump read it at its start (nil: unknown).
    init(task: SeizedTask, vmas: [VMA], pages: PagesWriter, cpus: [UInt64]?) {
        self.task = task
        self.vmas = vmas
        self.pages = pages
        // Each injected call is a round trip between criu and the task, in which criu polls with
        // sched_yield; a yield to a scan on the same CPU gives the CPU away until the next tick, even at
        // idle priority (~7 ms more for the injection with the scan beside it). So the main thread is
        // held on one CPU and the scan runs on the others, until `releaseCPUs`; on one CPU, the scan
        // shares it at idle priority.
        var scanCPUs: [UInt64]?
        if let words = cpus, words.reduce(0, { $0 + $1.nonzeroBitCount }) >= 2,
           let w = words.firstIndex(where: { $0 != 0 }) {
            let bit = UInt64(1) << UInt64(words[w].trailingZeroBitCount)
            var one = [UInt64](repeating: 0, count: words.count)
            one[w] = bit
            var rest = words
            rest[w] &= ~bit
            if csys_sys_sched_setaffinity(0, one.count * 8, one) == 0 {
                mainCPUs = words
                scanCPUs = rest
            }
        }
        let (task, vmas, pages) = (task, vmas, pages)
        let job = QuietJob { () -> Result<PageLayout, Error> in
            if let scanCPUs { _ = csys_sys_sched_setaffinity(0, scanCPUs.count * 8, scanCPUs) }
            var param = sched_param()
            _ = sched_setscheduler(0, CSYS_SCHED_IDLE, &param)
            return Self.scan(task: task, vmas: vmas, pages: pages)
        }
        if job.startError == 0 { self.job = job } else { releaseCPUs() }
    }

    deinit {
        releaseCPUs()
    }

    /// Gives the main thread back all of its CPUs. The Dumper calls this as soon as the injection is
    /// undone: the smaps reader and the copy workers it starts next inherit its mask. `finish` and
    /// deinit call it too, for a dump that fails before then; any call after the first does nothing.
    func releaseCPUs() {
        guard let words = mainCPUs else { return }
        mainCPUs = nil
        // The mask was read at the dump's start; a cpuset changed since may refuse it. Every CPU, which
        // the kernel cuts down to what the cpuset allows, still unpins the thread.
        if csys_sys_sched_setaffinity(0, words.count * 8, words) != 0 {
            let all = [UInt64](repeating: ~0, count: 16)
            _ = csys_sys_sched_setaffinity(0, all.count * 8, all)
        }
    }

    /// Waits for the thread and returns the layout, or throws what the scan threw. Without a thread
    /// (none could be started) the scan runs here.
    func finish() throws -> (layout: PageLayout, waitedMicros: UInt64) {
        releaseCPUs()
        let t0 = Clock.micros()
        let result = self.result ?? job?.join() ?? Self.scan(task: task, vmas: vmas, pages: pages)
        self.result = result
        job = nil
        return (try result.get(), Clock.micros() - t0)
    }

    private static func scan(task: SeizedTask, vmas: [VMA], pages: PagesWriter) -> Result<PageLayout, Error> {
        Result {
            let sources = vmas.compactMap { v in MemoryPlanner.pageSource(v).map { (v, $0) } }
            return try PageLayout.prepare(task: task, sources: sources, pagemap: try Pagemap(pid: task.pid), pages: pages)
        }
    }
}
