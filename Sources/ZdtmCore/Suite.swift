import Foundation
import Glibc

public enum KeepImages: String, Sendable { case always, never, failed }

/// Everything a `zdtm run` needs.
public struct RunConfig: Sendable {
    public var packageRoot: String
    public var tests: [TestCase]
    public var flavors: [Flavor] = [.h]
    public var mode = Mode()
    public var parallel = 1
    public var keepGoing = false
    public var keep: KeepImages = .failed
    public var reportDir: String?
    public var criuBin: String?
    public var critBin: String?
    public var quiet = false
    /// Per-test work dirs (scratch files, logs, images) go under this directory.
    public var outDir: String?

    public init(packageRoot: String, tests: [TestCase]) {
        self.packageRoot = packageRoot
        self.tests = tests
    }

    public var zdtmDir: String { "\(packageRoot)/Tests/zdtm" }
    public var buildDir: String { "\(packageRoot)/.build-zdtm" }
}

public struct RunSummary: Sendable {
    public var outcomes: [Outcome]
    public var notRun: Int
    public var failed: Int { outcomes.filter { $0.verdict == .fail }.count }
    public var passed: Int { outcomes.filter { $0.verdict == .pass }.count }
    public var skipped: Int { outcomes.filter { $0.verdict == .skip }.count }
}

/// Drives a whole run: build, schedule (parallel, excl tests alone), print, report.
public final class Suite: @unchecked Sendable {
    let cfg: RunConfig
    let lock = NSLock()
    var outcomes: [Outcome] = []
    var stopScheduling = false
    var done = 0
    var freeSlots: [Int] = []
    let out: @Sendable (String) -> Void

    public init(_ cfg: RunConfig, output: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.cfg = cfg
        self.out = output
    }

    /// Two runs sharing .build-zdtm/out would delete each other's work dirs: the second one stops.
    func lockOutDir() throws {
        try FileManager.default.createDirectory(atPath: cfg.buildDir, withIntermediateDirectories: true)
        let path = "\(cfg.buildDir)/run.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ZdtmError.io(path: path, op: "open", errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (Proc.read(path) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw ZdtmError.setup("another zdtm run (pid \(holder.isEmpty ? "?" : holder)) is using \(cfg.buildDir)")
        }
        _ = ftruncate(fd, 0)
        let me = "\(getpid())\n"
        _ = me.withCString { write(fd, $0, strlen($0)) }
        // The descriptor stays open (and locked) until the process exits.
    }

    static func firstError(_ ccOutput: String) -> String {
        let lines = ccOutput.split(separator: "\n")
        return String(lines.first { $0.contains("error") } ?? lines.first ?? "")
    }

    /// Finds crit next to the criu binary or in the package's build directories.
    static func findCrit(criu: String?, root: String) -> String? {
        var c: [String] = []
        if let criu { c.append((criu as NSString).deletingLastPathComponent + "/crit") }
        c += ["\(root)/.build/debug/crit", "\(root)/.build/release/crit"]
        return c.first { access($0, X_OK) == 0 }
    }

    public func run() throws -> RunSummary {
        guard getuid() == 0 else {
            throw ZdtmError.setup("zdtm must run as root (tests switch users and create namespaces)")
        }
        Proc.becomeSubreaper()
        if cfg.outDir == nil { try lockOutDir() }
        let builder = Builder(zdtmDir: cfg.zdtmDir, buildDir: cfg.buildDir)
        let t0 = Date()
        let buildErrors = try builder.build(cfg.tests)
        if !cfg.quiet { out(String(format: "built test programs in %.1f s", Date().timeIntervalSince(t0))) }
        var criuFound: CriuBinary?
        if !cfg.mode.nocr {
            guard let p = cfg.criuBin, access(p, X_OK) == 0 else {
                throw ZdtmError.setup("no criu binary\(cfg.criuBin.map { " at \($0)" } ?? ""): build it (swift build --product criu) or pass --criu-bin PATH")
            }
            criuFound = CriuBinary(path: p)
            if !cfg.quiet, let c = criuFound {
                let cmds = ["dump", "restore", "check", "pre-dump", "page-server", "lazy-pages"]
                    .map { "\($0) \(c.has(command: $0) ? "yes" : "no")" }
                out("criu \(p): " + cmds.joined(separator: ", "))
            }
        }
        let criu = criuFound
        let crit = cfg.critBin ?? Suite.findCrit(criu: cfg.criuBin, root: cfg.packageRoot)

        // Work items: test x flavor x (iterations are inside a run); excl tests go alone.
        struct Item: Sendable { var test: TestCase; var flavor: Flavor }
        var items: [Item] = []
        for t in cfg.tests {
            for f in cfg.flavors where t.desc.flavors.contains(f) { items.append(Item(test: t, flavor: f)) }
        }
        if items.isEmpty { throw ZdtmError.usage("nothing to run: the selected tests support none of the flavors \(cfg.flavors.map(\.rawValue).joined(separator: ","))") }
        let total = items.count
        let outRoot = cfg.outDir ?? "\(cfg.buildDir)/out"

        @Sendable func runItem(_ item: Item, slot: Int) -> Outcome {
            let wd = "\(outRoot)/\(item.test.name.replacingOccurrences(of: "/", with: "_"))-\(item.flavor.rawValue)"
            if let err = buildErrors[item.test.name] {
                return Outcome(test: item.test.name, flavor: item.flavor, verdict: .fail,
                               reason: "build failed: " + Suite.firstError(err),
                               workDir: wd, logs: ["\(builder.binary(for: item.test)).log"])
            }
            let r = TestRun(test: item.test, flavor: item.flavor, mode: cfg.mode, binary: builder.binary(for: item.test),
                            nsLauncher: builder.nsLauncher, workDir: wd, criu: criu, crit: crit, slot: slot)
            return r.run()
        }

        @Sendable func finish(_ o: Outcome) {
            lock.lock()
            outcomes.append(o)
            self.done += 1
            let n = self.done
            if o.verdict == .fail && !cfg.keepGoing { stopScheduling = true }
            out(Report.liveLine(o, index: n, total: total, nocr: cfg.mode.nocr))
            lock.unlock()
        }

        // A simple pool: shared tests run up to `parallel` at once; an excl test waits for the pool to
        // drain, runs alone, then the pool refills.
        let par = max(1, cfg.parallel)
        var queue = items[...]
        let group = DispatchGroup()
        let slots = DispatchSemaphore(value: par)
        freeSlots = Array(0..<par)
        func stopped() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return stopScheduling
        }
        while let item = queue.popFirst() {
            if stopped() { queue = [item][...] + queue; break }
            if item.test.desc.flags.contains(.excl) {
                group.wait()
                if stopped() { queue = [item][...] + queue; break }
                finish(runItem(item, slot: 0))
                continue
            }
            slots.wait()
            // A failure may have come in while we waited for the slot.
            if stopped() {
                slots.signal()
                queue = [item][...] + queue
                break
            }
            lock.lock()
            let slot = self.freeSlots.removeFirst()
            lock.unlock()
            group.enter()
            Thread.detachNewThread {
                let o = runItem(item, slot: slot)
                finish(o)
                self.lock.lock()
                self.freeSlots.append(slot)
                self.lock.unlock()
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        let summary = RunSummary(outcomes: outcomes, notRun: queue.count)
        Report.printSummary(summary, cfg: cfg, out: out)
        if let dir = cfg.reportDir { try Report.write(summary, cfg: cfg, dir: dir) }
        // Work dirs go only now: the summary above quotes the failures' logs.
        for o in outcomes {
            let keep = cfg.keep == .always || (cfg.keep == .failed && o.verdict == .fail)
            if !keep { try? FileManager.default.removeItem(atPath: o.workDir) }
        }
        return summary
    }
}
