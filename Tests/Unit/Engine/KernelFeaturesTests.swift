import Testing
import Glibc
@testable import Engine

@Suite struct KernelFeaturesTests {
    @Test func namesAreUniqueAndLookupWorks() {
        let names = KernelFeatures.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(KernelFeatures.named("pagemap_scan") != nil)
        #expect(KernelFeatures.named("no_such_feature") == nil)
    }

    /// This project's machines run a kernel with everything the engine requires.
    @Test func requiredFeaturesArePresentHere() {
        for f in KernelFeatures.all where f.required {
            let r = f.probe()
            #expect(r.isPresent, "\(f.name): \(r.detail)")
        }
    }

    @Test func dirtyTrackingAgreesWithItsParts() {
        let soft = MemoryProbes.softDirty().isPresent
        let scan = MemoryProbes.pagemapScan().isPresent
        let wp = MemoryProbes.uffdWriteProtectAsync().isPresent
        #expect(MemoryProbes.dirtyTracking().isPresent == (soft || (scan && wp)))
    }

    @Test func probeChildIsReapedAfterUse() {
        var seen: pid_t = 0
        let r = ProbeChild.withSeized { pid in
            seen = pid
            #expect(kill(pid, 0) == 0)
            return .present("held")
        }
        #expect(r.isPresent)
        #expect(seen > 0)
        #expect(kill(seen, 0) == -1 && errno == ESRCH)
    }

    @Test func failedSetupReportsItsErrno() {
        let r = ProbeChild.withSeized(setup: { EACCES }) { _ in .present("unreachable") }
        #expect(!r.isPresent)
        #expect(r.detail.contains("Permission denied"))
    }
}
