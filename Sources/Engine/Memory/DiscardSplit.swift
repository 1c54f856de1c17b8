import Compel
import Images

/// Which memory of a dumped task is discarded before the kill, and how it is shared between two threads
/// (SeizedTask.discardMemory): the private anonymous VMAs, cut where each half holds about as many
/// present pages as the other.
enum DiscardSplit {
    struct Vma: Equatable {
        var start: UInt64
        var end: UInt64
        var present: PresentPages
    }

    /// Below this many present pages (64 MiB) a helper thread is not worth its set-up: the exit frees it all.
    static let minimumPages: UInt64 = 16384
    /// VMAs with fewer present pages (1 MiB) are left to the exit, saving an injected call each.
    static let vmaMinimumPages: UInt64 = 256
    /// At most this many VMAs (those with the most pages): each costs ptrace round trips, and thousands of
    /// them would cost more than the freeing saves.
    static let maximumVmas = 32
    /// Present pages must fill at least 1/density of the chosen VMAs. Scattered pages are freed no faster
    /// by two threads than by the exit alone, which then saves the set-up: 1 GiB with 10% touched took
    /// ~6 ms less to kill without it, while with 50% or all of it touched the freeing took about a third
    /// and a fifth less with it (docs/benchmarks.md, "Early page scan").
    static let density: UInt64 = 4

    /// Private anonymous memory that MADV_DONTNEED may drop: not mlocked (EINVAL there).
    static func mayDiscard(_ plan: VmaPlan) -> Bool {
        guard case .pagemap(.all) = plan.pages, plan.entry.status & VmaStatus.anonPrivate != 0 else { return false }
        return !(plan.vma.flags?.contains(.locked) ?? true)
    }

    /// Two lists of spans with about half the present pages each, in address order; nil when there is too
    /// little to be worth it.
    static func halves(_ vmas: [Vma], pageSize: UInt64) -> (first: [SeizedTask.Span], second: [SeizedTask.Span])? {
        let big = vmas.filter { $0.present.total >= vmaMinimumPages }
            .sorted { $0.present.total > $1.present.total }.prefix(maximumVmas)
            .sorted { $0.start < $1.start }
        let total = big.reduce(0) { $0 + $1.present.total }
        let span = big.reduce(0) { $0 + ($1.end - $1.start) / pageSize }
        guard total >= minimumPages, total * density >= span else { return nil }
        let half = total / 2
        var first: [SeizedTask.Span] = [], second: [SeizedTask.Span] = []
        var counted: UInt64 = 0
        for v in big {
            let n = v.present.total
            defer { counted += n }
            if counted >= half {
                second.append(.init(start: v.start, length: v.end - v.start))
                continue
            }
            if counted + n <= half {
                first.append(.init(start: v.start, length: v.end - v.start))
                continue
            }
            // The cut falls inside this VMA: after the page that completes the first half.
            var need = half - counted
            var cut = v.end
            for run in v.present.runs {
                if run.nrPages >= need {
                    cut = run.start + need * pageSize
                    break
                }
                need -= run.nrPages
            }
            if cut > v.start { first.append(.init(start: v.start, length: cut - v.start)) }
            if cut < v.end { second.append(.init(start: cut, length: v.end - cut)) }
        }
        return (first, second)
    }
}

/// The halves of each dumped task, by pid, kept from its memory dump until the kill.
final class DiscardBook {
    var halves: [Int32: (first: [SeizedTask.Span], second: [SeizedTask.Span])] = [:]
}
