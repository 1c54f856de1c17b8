import ArgumentParser
import Foundation
import ZdtmCore

struct Zdtm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zdtm",
        abstract: "Zero-downtime test suite runner: start each test, checkpoint/restore it, check it survived.",
        subcommands: [Run.self, List.self, Show.self]
    )
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run tests.")

    @Flag(name: [.customShort("a"), .long], help: "All tests except noauto ones.") var all = false
    @Option(name: [.customShort("t"), .long], parsing: .upToNextOption, help: "Test names (static/env00 or env00).") var test: [String] = []
    @Option(name: [.customShort("T"), .customLong("tests")], help: "Tests whose name matches REGEX.") var regex: String?
    @Option(name: [.customShort("F"), .customLong("from")], help: "File listing test names, one per line.") var listFile: String?
    @Option(name: [.customShort("x"), .long], help: "Exclude tests whose name matches REGEX (repeatable).") var exclude: [String] = []
    @Option(name: [.customShort("f"), .customLong("flavor")], help: "Flavors: h, ns, uns (comma separated); a test runs in those its desc allows.") var flavor = "h,ns,uns"
    @Option(help: "C/R cycles per test.") var iters = 1
    @Flag(help: "Dump with --leave-running, no restore.") var norst = false
    @Flag(help: "No criu at all: checks the tests themselves.") var nocr = false
    @Option(help: "Pre-dumps before the dump.") var pre = 0
    @Flag(help: "With --pre: full dumps with --leave-running instead of pre-dumps.") var snaps = false
    @Flag(name: .customLong("page-server"), help: "Dump through a page server.") var pageServer = false
    @Flag(name: .customLong("lazy-pages"), help: "Restore with lazy pages.") var lazyPages = false
    @Flag(help: "Drive criu through RPC (criu swrk).") var rpc = false
    @Flag(help: "Restore with --restore-sibling.") var sibling = false
    @Flag(help: "Restore with --leave-stopped, then continue the tasks.") var stop = false
    @Option(help: "Fault injection number (CRIU_FAULT).") var fault: Int?
    @Option(name: [.customShort("p"), .long], help: "Tests run at once (excl tests run alone).") var parallel = 1
    @Flag(name: .customLong("keep-going"), help: "Go on after a failure.") var keepGoing = false
    @Option(name: [.customShort("k"), .customLong("keep-img")], help: "Keep work dirs and images: always, never, failed.") var keep = "failed"
    @Option(help: "Write junit.xml and summary.txt into DIR.") var report: String?
    @Option(name: .customLong("criu-bin"), help: "criu binary (default: the package's .build/debug/criu).") var criuBin: String?

    func run() throws {
        let root = try Locate.packageRoot()
        let catalog = try Catalog(zdtmDir: "\(root)/Tests/zdtm")
        let sel = Selection(all: all, names: test, regex: regex, listFile: listFile, exclude: exclude)
        var cfg = RunConfig(packageRoot: root, tests: try sel.resolve(catalog))
        cfg.flavors = try Flavor.parseList(flavor)
        guard let k = KeepImages(rawValue: keep) else { throw ZdtmError.usage("-k wants always, never or failed, not '\(keep)'") }
        guard iters >= 1, pre >= 0, parallel >= 1 else { throw ZdtmError.usage("--iters and -p must be at least 1, --pre at least 0") }
        if nocr && (norst || pre > 0 || snaps || pageServer || lazyPages || rpc || sibling || stop || fault != nil || iters > 1) {
            throw ZdtmError.usage("--nocr does not go with C/R mode options")
        }
        if snaps && pre == 0 { throw ZdtmError.usage("--snaps needs --pre N") }
        cfg.keep = k
        cfg.parallel = parallel
        cfg.keepGoing = keepGoing
        cfg.reportDir = report
        cfg.mode.nocr = nocr
        cfg.mode.norst = norst
        cfg.mode.iters = iters
        cfg.mode.pre = pre
        cfg.mode.snaps = snaps
        cfg.mode.pageServer = pageServer
        cfg.mode.lazyPages = lazyPages
        cfg.mode.rpc = rpc
        cfg.mode.sibling = sibling
        cfg.mode.stop = stop
        cfg.mode.fault = fault
        if let c = criuBin {
            cfg.criuBin = c.hasPrefix("/") ? c : FileManager.default.currentDirectoryPath + "/" + c
        } else {
            cfg.criuBin = Locate.defaultCriu(root: root)
        }
        Interrupt.install()
        let summary = try Suite(cfg).run()
        let left = Leftovers.killAll()
        if !left.isEmpty {
            print("zdtm: killed \(left.count) process(es) left behind by the run: \(left.map(String.init).joined(separator: " "))")
            throw ExitCode(1)
        }
        if summary.failed > 0 || summary.notRun > 0 { throw ExitCode(1) }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the tests.")
    @Flag(help: "As JSON.") var json = false

    func run() throws {
        let root = try Locate.packageRoot()
        let catalog = try Catalog(zdtmDir: "\(root)/Tests/zdtm")
        if json {
            let arr: [[String: Any]] = catalog.tests.map { t in
                ["name": t.name, "flavors": t.desc.flavors.map(\.rawValue), "flags": t.desc.flags.map(\.rawValue).sorted(),
                 "feature": t.desc.features, "opts": t.desc.opts, "timeout": t.desc.timeout]
            }
            let data = try JSONSerialization.data(withJSONObject: arr, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for t in catalog.tests {
            let flags = t.desc.flags.map(\.rawValue).sorted().joined(separator: ",")
            print(t.name.padding(toLength: 28, withPad: " ", startingAt: 0) + " "
                  + t.desc.flavors.map(\.rawValue).joined(separator: ",").padding(toLength: 10, withPad: " ", startingAt: 0)
                  + " " + flags)
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one test's description and paths.")
    @Argument(help: "Test name.") var name: String

    func run() throws {
        let root = try Locate.packageRoot()
        let catalog = try Catalog(zdtmDir: "\(root)/Tests/zdtm")
        let t = try catalog.lookup(name)
        let b = Builder(zdtmDir: "\(root)/Tests/zdtm", buildDir: "\(root)/.build-zdtm")
        print("name:     \(t.name)")
        print("source:   \(t.source)")
        print("binary:   \(b.binary(for: t))")
        print("flavors:  \(t.desc.flavors.map(\.rawValue).joined(separator: ","))")
        print("flags:    \(t.desc.flags.map(\.rawValue).sorted().joined(separator: ","))")
        print("features: \(t.desc.features.joined(separator: " "))")
        print("opts:     \(t.desc.opts.joined(separator: " "))")
        print("timeout:  \(t.desc.timeout) s")
        if t.desc.pause > 0 { print("pause:    \(t.desc.pause) ms (--nocr)") }
        let head = (try? String(contentsOfFile: t.source, encoding: .utf8))?.split(separator: "\n").prefix(while: { !$0.hasPrefix("#include") })
        if let head, !head.isEmpty { print(head.joined(separator: "\n")) }
    }
}

// Every user error is one line and exit 1 (ArgumentParser alone would use 64 for usage errors).
do {
    var cmd = try Zdtm.parseAsRoot()
    try cmd.run()
} catch let e as ZdtmError {
    FileHandle.standardError.write(Data("zdtm: \(e)\n".utf8))
    exit(1)
} catch let e as ExitCode {
    exit(e.rawValue)
} catch {
    let code = Zdtm.exitCode(for: error)
    if code == .success {
        print(Zdtm.fullMessage(for: error))
        exit(0)
    }
    let msg = Zdtm.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    FileHandle.standardError.write(Data("zdtm: \(msg)\n".utf8))
    exit(1)
}
