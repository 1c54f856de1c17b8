import Foundation
import Glibc

/// A CRIU-compatible binary and what it can do. Capabilities are asked from the binary itself
/// (`criu CMD --help`, `criu check --feature NAME`) and cached, so the same suite runs against our
/// criu at any stage and against upstream CRIU.
public final class CriuBinary: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private var commands: [String: Bool] = [:]
    private var features: [String: Bool] = [:]

    public init(path: String) { self.path = path }

    /// A command exists when `criu CMD --help` exits 0 and its usage names the command ("criu dump ..." from a
    /// subcommand's help, or upstream's "criu dump|pre-dump -t PID"): a binary without the command answers
    /// with its general usage or an error.
    public func has(command: String) -> Bool {
        lock.lock()
        if let v = commands[command] { lock.unlock(); return v }
        lock.unlock()
        var ok = false
        if let (ex, out) = try? Proc.run([path, command, "--help"], timeout: 30) {
            ok = ex.ok && CriuBinary.usageNames(command, in: out)
        }
        lock.lock()
        commands[command] = ok
        lock.unlock()
        return ok
    }

    static func usageNames(_ command: String, in text: String) -> Bool {
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            for (i, w) in words.enumerated() where w == "criu" && i + 1 < words.count {
                if words[i + 1].split(separator: "|").contains(where: { $0 == command }) { return true }
            }
        }
        return false
    }

    /// `criu check --feature NAME` exits 0 when the feature is there.
    public func has(feature: String) -> Bool {
        lock.lock()
        if let v = features[feature] { lock.unlock(); return v }
        lock.unlock()
        var ok = false
        if has(command: "check"), let (ex, out) = try? Proc.run([path, "check", "--feature", feature], timeout: 60) {
            ok = ex.ok
            // cr_* names what our own engine can C/R; a criu that does not know the name at all (upstream
            // CRIU) is assumed to handle it, and the test itself tells.
            if !ok && feature.hasPrefix("cr_") && out.lowercased().contains("unknown feature") { ok = true }
        }
        lock.lock()
        features[feature] = ok
        lock.unlock()
        return ok
    }

    /// Why a test cannot be C/R'ed with this binary in this mode, or nil when it can.
    public func missing(for test: TestCase, mode: Mode, flavor: Flavor = .h) -> String? {
        var cmds = ["dump"]
        if !mode.norst { cmds.append("restore") }
        if mode.pre > 0 && !mode.snaps { cmds.append("pre-dump") }
        if mode.pageServer { cmds.append("page-server") }
        if mode.lazyPages { cmds.append("lazy-pages") }
        if mode.rpc { cmds.append("swrk") }
        for c in cmds where !has(command: c) { return "criu has no \(c) command" }
        var feats = test.desc.features
        // In ns and uns the runner dumps the namespace's init together with the test, in its namespaces.
        if flavor != .h { feats += ["cr_process_tree", "cr_namespaces"] }
        if flavor == .uns { feats.append("cr_user_ns") }
        if mode.pre > 0 || mode.snaps { feats.append("mem_dirty_track") }
        if mode.lazyPages { feats.append("uffd-noncoop") }
        for f in feats where !has(feature: f) { return "criu feature \(f) missing" }
        if mode.rpc { return "rpc mode: the runner's RPC client is not implemented yet" }
        return nil
    }
}

/// How each test is checkpointed and restored (the run's mode options).
public struct Mode: Sendable {
    public var nocr = false
    public var norst = false
    public var iters = 1
    public var pre = 0
    public var snaps = false
    public var pageServer = false
    public var lazyPages = false
    public var rpc = false
    public var sibling = false
    public var stop = false
    public var fault: Int?

    public init() {}

    /// The options that reproduce this mode on the command line.
    public var cliArgs: [String] {
        var a: [String] = []
        if nocr { a.append("--nocr") }
        if norst { a.append("--norst") }
        if iters != 1 { a += ["--iters", String(iters)] }
        if pre > 0 { a += ["--pre", String(pre)] }
        if snaps { a.append("--snaps") }
        if pageServer { a.append("--page-server") }
        if lazyPages { a.append("--lazy-pages") }
        if rpc { a.append("--rpc") }
        if sibling { a.append("--sibling") }
        if stop { a.append("--stop") }
        if let f = fault { a += ["--fault", String(f)] }
        return a
    }
}
