import Foundation

/// A test's description, read from NAME.desc (JSON). Unknown keys are errors: a typo in a flag name
/// must not silently turn a root-only test into an unprivileged one.
public struct TestDesc: Equatable, Sendable {
    public enum Flag: String, CaseIterable, Sendable {
        case suid, excl, noauto, crfail, reqrst
    }

    public var flavors: [Flavor] = Flavor.allCases
    public var flags: Set<Flag> = []
    /// `criu check --feature NAME` must succeed for each of these before C/R is attempted.
    public var features: [String] = []
    /// Extra options for both dump and restore.
    public var opts: [String] = []
    /// Seconds to wait for the starter and for the verdict.
    public var timeout: Int = 30
    /// Milliseconds the runner holds the C/R point open in --nocr mode (for tests that change themselves).
    public var pause: Int = 0

    public init() {}

    static let keys: Set<String> = ["flavors", "flags", "feature", "opts", "timeout", "pause"]

    public static func parse(_ data: Data, file: String) throws -> TestDesc {
        func bad(_ why: String) -> ZdtmError { .badDesc(file: file, why: why) }
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw bad("not valid JSON")
        }
        guard let obj = any as? [String: Any] else { throw bad("top level must be a JSON object") }
        if let unknown = obj.keys.filter({ !keys.contains($0) }).sorted().first {
            throw bad("unknown key '\(unknown)' (known: \(keys.sorted().joined(separator: ", ")))")
        }
        func strings(_ key: String) throws -> [String]? {
            guard let v = obj[key] else { return nil }
            if let s = v as? String { return s.split(separator: " ").map(String.init) }
            guard let a = v as? [Any], a.allSatisfy({ $0 is String }) else {
                throw bad("'\(key)' must be a list of strings")
            }
            return a as? [String]
        }
        func int(_ key: String) throws -> Int? {
            guard let v = obj[key] else { return nil }
            guard !(type(of: v) == Bool.self), let n = v as? Int, n >= 0 else {
                throw bad("'\(key)' must be a non-negative integer")
            }
            return n
        }
        var d = TestDesc()
        if let fl = try strings("flavors") {
            d.flavors = try fl.map { name in
                guard let f = Flavor(rawValue: name) else { throw bad("unknown flavor '\(name)' (known: h, ns, uns)") }
                return f
            }
            if d.flavors.isEmpty { throw bad("'flavors' is empty") }
        }
        if let fl = try strings("flags") {
            d.flags = Set(try fl.map { name in
                guard let f = Flag(rawValue: name) else {
                    throw bad("unknown flag '\(name)' (known: \(Flag.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return f
            })
        }
        d.features = try strings("feature") ?? []
        d.opts = try strings("opts") ?? []
        if let t = try int("timeout") {
            guard t > 0 else { throw bad("'timeout' must be positive") }
            d.timeout = t
        }
        d.pause = try int("pause") ?? 0
        return d
    }
}


public enum Flavor: String, CaseIterable, Sendable, Comparable {
    case h, ns, uns
    public static func < (a: Flavor, b: Flavor) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
    public static func parseList(_ s: String) throws -> [Flavor] {
        let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty else { throw ZdtmError.usage("empty flavor list") }
        return try parts.map { p in
            guard let f = Flavor(rawValue: p) else { throw ZdtmError.usage("unknown flavor '\(p)' (known: h, ns, uns)") }
            return f
        }
    }
}
