import Foundation

/// One test program: its name ("static/env00"), source and description.
public struct TestCase: Sendable, Equatable {
    public var name: String
    public var source: String
    public var desc: TestDesc
    /// Static tests sit still, so their /proc view must be identical before and after C/R; transition
    /// tests keep changing by design and are judged by their own verdict only.
    public var isStatic: Bool { name.hasPrefix("static/") }
    public var shortName: String { String(name.split(separator: "/").last ?? "") }
}

/// All tests under Tests/zdtm/{static,transition}.
public struct Catalog: Sendable {
    public var root: String
    public var tests: [TestCase]

    public static let groups = ["static", "transition"]

    public init(zdtmDir: String) throws {
        root = zdtmDir
        var found: [TestCase] = []
        let fm = FileManager.default
        for g in Catalog.groups {
            let dir = "\(zdtmDir)/\(g)"
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for file in names.sorted() where file.hasSuffix(".c") {
                let base = String(file.dropLast(2))
                let descPath = "\(dir)/\(base).desc"
                guard let data = fm.contents(atPath: descPath) else {
                    throw ZdtmError.badDesc(file: descPath, why: "missing (every test needs a .desc, even {})")
                }
                found.append(TestCase(name: "\(g)/\(base)", source: "\(dir)/\(file)",
                                      desc: try TestDesc.parse(data, file: descPath)))
            }
        }
        tests = found
    }

    public init(root: String, tests: [TestCase]) {
        self.root = root
        self.tests = tests
    }

    /// Finds a test by full name ("static/env00"), by "zdtm/static/env00" or by its bare name.
    public func lookup(_ name: String) throws -> TestCase {
        var n = name
        if n.hasPrefix("zdtm/") { n.removeFirst(5) }
        if n.hasSuffix(".c") || n.hasSuffix(".desc") { n = String(n[..<n.lastIndex(of: ".")!]) }
        if let t = tests.first(where: { $0.name == n }) { return t }
        let bare = tests.filter { $0.shortName == n }
        if bare.count == 1 { return bare[0] }
        if bare.count > 1 { throw ZdtmError.usage("test name '\(name)' is ambiguous: \(bare.map(\.name).joined(separator: ", "))") }
        throw ZdtmError.unknownTest(name)
    }
}

/// Which tests a run takes: -a, -t, -T, -F, minus -x.
public struct Selection: Sendable {
    public var all = false
    public var names: [String] = []
    public var regex: String?
    public var listFile: String?
    public var exclude: [String] = []

    public init(all: Bool = false, names: [String] = [], regex: String? = nil, listFile: String? = nil, exclude: [String] = []) {
        self.all = all
        self.names = names
        self.regex = regex
        self.listFile = listFile
        self.exclude = exclude
    }

    static func compile(_ pattern: String, _ opt: String) throws -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: pattern)
        } catch {
            throw ZdtmError.usage("bad regular expression for \(opt): '\(pattern)'")
        }
    }

    static func matches(_ re: NSRegularExpression, _ s: String) -> Bool {
        re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    /// Explicitly named tests (-t, -F) are taken even when noauto; -a and -T skip noauto tests.
    public func resolve(_ catalog: Catalog) throws -> [TestCase] {
        var picked: [TestCase] = []
        func add(_ t: TestCase) { if !picked.contains(t) { picked.append(t) } }
        if !all && names.isEmpty && regex == nil && listFile == nil {
            throw ZdtmError.usage("no tests selected: give -a, -t NAME, -T REGEX or -F FILE")
        }
        if all { catalog.tests.filter { !$0.desc.flags.contains(.noauto) }.forEach(add) }
        if let r = regex {
            let re = try Selection.compile(r, "-T")
            catalog.tests.filter { !$0.desc.flags.contains(.noauto) && Selection.matches(re, $0.name) }.forEach(add)
        }
        for n in names { add(try catalog.lookup(n)) }
        if let f = listFile {
            guard let text = try? String(contentsOfFile: f, encoding: .utf8) else {
                throw ZdtmError.usage("can't read test list \(f)")
            }
            for line in text.split(whereSeparator: \.isNewline) {
                let l = line.trimmingCharacters(in: .whitespaces)
                if l.isEmpty || l.hasPrefix("#") { continue }
                add(try catalog.lookup(l))
            }
        }
        let ex = try exclude.map { try Selection.compile($0, "-x") }
        return picked.filter { t in !ex.contains { Selection.matches($0, t.name) } }
    }
}
