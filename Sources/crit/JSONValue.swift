import Foundation

/// A JSON tree that keeps numbers as their source text, so 64-bit values pass
/// through without a round trip via Double.
indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let kv) = self { return kv.first { $0.0 == key }?.1 }
        return nil
    }

    /// Compact text with Python's json.dumps separators.
    var text: String {
        var s = ""
        write(to: &s)
        return s
    }

    func write(to s: inout String) {
        switch self {
        case .null: s += "null"
        case .bool(let b): s += b ? "true" : "false"
        case .number(let n): s += n
        case .string(let t): JSONText.quote(t, into: &s)
        case .array(let a):
            s += "["
            for (i, v) in a.enumerated() {
                if i > 0 { s += ", " }
                v.write(to: &s)
            }
            s += "]"
        case .object(let kv):
            s += "{"
            for (i, (k, v)) in kv.enumerated() {
                if i > 0 { s += ", " }
                JSONText.quote(k, into: &s)
                s += ": "
                v.write(to: &s)
            }
            s += "}"
        }
    }
}

struct JSONParseError: Error, CustomStringConvertible {
    let offset: Int
    let what: String
    var description: String { "JSON: \(what) at byte \(offset)" }
}

/// A small strict JSON parser (RFC 8259) with a nesting limit.
struct JSONParser {
    private let b: [UInt8]
    private var i = 0
    private var depth = 0

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var p = JSONParser(b: bytes)
        let v = try p.value()
        p.skipSpace()
        if p.i != p.b.count { throw JSONParseError(offset: p.i, what: "trailing characters") }
        return v
    }

    private init(b: [UInt8]) { self.b = b }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0a || b[i] == 0x0d || b[i] == 0x09 { i += 1 }
    }

    private func fail(_ what: String) -> JSONParseError { JSONParseError(offset: i, what: what) }

    private mutating func value() throws -> JSONValue {
        skipSpace()
        guard i < b.count else { throw fail("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            depth += 1
            if depth > 200 { throw fail("nesting too deep") }
            i += 1
            var kv: [(String, JSONValue)] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(kv) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let k = try string()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                kv.append((k, try value()))
                skipSpace()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(kv) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            if depth > 200 { throw fail("nesting too deep") }
            i += 1
            var a: [JSONValue] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(a) }
            while true {
                a.append(try value())
                skipSpace()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(a) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default:
            let start = i
            while i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: ".")
                || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || (b[i] >= 0x30 && b[i] <= 0x39) { i += 1 }
            if start == i { throw fail("unexpected character") }
            return .number(String(decoding: b[start..<i], as: UTF8.self))
        }
    }

    private mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, Array(b[i..<i + w.count]) == w else { throw fail("bad literal") }
        i += w.count
        return v
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard i < b.count else { throw fail("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "u"):
                var cp = try hex4()
                if cp >= 0xd800 && cp < 0xdc00, i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let lo = try hex4()
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo &- 0xdc00)
                }
                out += Array(String(Character(Unicode.Scalar(cp) ?? "\u{fffd}")).utf8)
            default: out.append(e)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

enum JSONText {
    /// Quotes like Python's json.dumps (ensure_ascii): non-ASCII as \u escapes.
    static func quote(_ t: String, into s: inout String) {
        s += "\""
        for u in t.utf16 {
            switch u {
            case 0x22: s += "\\\""
            case 0x5c: s += "\\\\"
            case 0x0a: s += "\\n"
            case 0x0d: s += "\\r"
            case 0x09: s += "\\t"
            case 0x08: s += "\\b"
            case 0x0c: s += "\\f"
            case 0x20..<0x7f: s.unicodeScalars.append(Unicode.Scalar(UInt8(u)))
            default:
                let h = String(u, radix: 16)
                s += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            }
        }
        s += "\""
    }

    /// Base64 as Python's base64.encodebytes writes it: 76-column lines, each ending in \n.
    static func base64Lines(_ data: [UInt8]) -> String {
        let flat = Data(data).base64EncodedString()
        if flat.isEmpty { return "" }
        var out = ""
        var idx = flat.startIndex
        while idx < flat.endIndex {
            let end = flat.index(idx, offsetBy: 76, limitedBy: flat.endIndex) ?? flat.endIndex
            out += flat[idx..<end]
            out += "\n"
            idx = end
        }
        return out
    }

    static func unbase64(_ s: String) -> [UInt8]? {
        let clean = s.filter { !$0.isWhitespace }
        guard let d = Data(base64Encoded: clean) else { return nil }
        return [UInt8](d)
    }
}

/// Unix socket names as CRIU's crit prints them: quoted-printable text (Python's
/// binascii.b2a_qp rules), because abstract names start with a NUL byte.
enum QuotedPrintable {
    static let maxLine = 76

    static func encode(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        var lineLen = 0
        let digits = Array("0123456789ABCDEF".utf8)
        for (i, c) in b.enumerated() {
            let last = i + 1 == b.count
            let next: UInt8? = last ? nil : b[i + 1]
            let quote = c > 126 || c == UInt8(ascii: "=")
                || (c == UInt8(ascii: ".") && lineLen == 0 && (next == nil || next == 10 || next == 13 || next == 0))
                || ((c == 9 || c == 32) && last)
                || (c < 33 && c != 13 && c != 10 && c != 9 && c != 32)
            if quote {
                if lineLen + 3 >= maxLine { out += [UInt8(ascii: "="), 10]; lineLen = 0 }
                out += [UInt8(ascii: "="), digits[Int(c >> 4)], digits[Int(c & 15)]]
                lineLen += 3
            } else if c == 10 {
                out.append(c)
                lineLen = 0
            } else {
                if lineLen + 1 >= maxLine && next != 10 && next != nil { out += [UInt8(ascii: "="), 10]; lineLen = 0 }
                out.append(c)
                lineLen += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ s: String) -> [UInt8]? {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] != UInt8(ascii: "=") { out.append(b[i]); i += 1; continue }
            if i + 1 < b.count, b[i + 1] == 10 { i += 2; continue }
            if i + 2 < b.count, b[i + 1] == 13, b[i + 2] == 10 { i += 3; continue }
            guard i + 2 < b.count, let v = UInt8(String(decoding: b[i + 1...i + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            out.append(v)
            i += 3
        }
        return out
    }
}
