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
        let obj: [String: JSONValue]
        do {
            obj = try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            if (try? JSONDecoder().decode(JSONValue.self, from: data)) != nil { throw bad("top level must be a JSON object") }
            throw bad("not valid JSON")
        }
        if let unknown = obj.keys.filter({ !keys.contains($0) }).sorted().first {
            throw bad("unknown key '\(unknown)' (known: \(keys.sorted().joined(separator: ", ")))")
        }
        func strings(_ key: String) throws -> [String]? {
            switch obj[key] {
            case nil: return nil
            case .string(let s): return s.split(separator: " ").map(String.init)
            case .array(let a):
                return try a.map {
                    guard case .string(let s) = $0 else { throw bad("'\(key)' must be a list of strings") }
                    return s
                }
            default: throw bad("'\(key)' must be a list of strings")
            }
        }
        func int(_ key: String) throws -> Int? {
            switch obj[key] {
            case nil: return nil
            case .int(let n) where n >= 0: return n
            default: throw bad("'\(key)' must be a non-negative integer")
            }
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

/// Just enough JSON to tell `true` from `1` (JSONSerialization on Linux does not).
enum JSONValue: Decodable, Equatable {
    case bool(Bool), int(Int), double(Double), string(String), array([JSONValue]), object([String: JSONValue]), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}
