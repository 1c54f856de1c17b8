/// Small helpers shared by the /proc parsers: the kernel prints numbers in a few fixed ways
/// (decimal, %x, %o, %016llx) and separates fields by single spaces or tabs.
enum TextFields {
    // These work on UTF-8 code units: /proc text is ASCII where it matters, and Character-level
    // operations (grapheme breaking) cost ten times more on files with tens of thousands of lines.

    static func lines(_ text: String) -> [Substring] {
        text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { Substring($0) }
    }

    static func lines(_ text: Substring) -> [Substring] {
        text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { Substring($0) }
    }

    static func words(_ s: Substring) -> [Substring] {
        s.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map { Substring($0) }
    }

    /// "Key:<tab or spaces>value" lines of status, fdinfo, smaps.
    static func keyValue(_ line: Substring) -> (key: Substring, value: Substring)? {
        let u = line.utf8
        guard let colon = u.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        var lo = u.index(after: colon), hi = u.endIndex
        while lo < hi, u[lo] == 0x20 || u[lo] == 0x09 { lo = u.index(after: lo) }
        while lo < hi, u[u.index(before: hi)] == 0x20 || u[u.index(before: hi)] == 0x09 { hi = u.index(before: hi) }
        return (line[line.startIndex..<colon], line[lo..<hi])
    }

    static func dec<T: FixedWidthInteger>(_ s: Substring, _ source: String, _ what: String) throws(ProcError) -> T {
        guard let v = T(s, radix: 10) else { throw .malformed(source, "\(what): not a decimal number: \"\(s)\"") }
        return v
    }

    static func hex<T: FixedWidthInteger>(_ s: Substring, _ source: String, _ what: String) throws(ProcError) -> T {
        guard let v = T(s, radix: 16) else { throw .malformed(source, "\(what): not a hex number: \"\(s)\"") }
        return v
    }

    static func oct<T: FixedWidthInteger>(_ s: Substring, _ source: String, _ what: String) throws(ProcError) -> T {
        guard let v = T(s, radix: 8) else { throw .malformed(source, "\(what): not an octal number: \"\(s)\"") }
        return v
    }

    /// "major:minor" as printed by the kernel (hex in maps, decimal in mountinfo).
    static func devPair(_ s: Substring, radix: Int, _ source: String) throws(ProcError) -> (UInt32, UInt32) {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let ma = UInt32(parts[0], radix: radix), let mi = UInt32(parts[1], radix: radix) else {
            throw .malformed(source, "device: expected major:minor, got \"\(s)\"")
        }
        return (ma, mi)
    }

    /// Undo the kernel's octal escaping (\040 for space, \011 tab, \012 newline, \134 backslash) used by
    /// mountinfo and by paths that contain escaped characters.
    static func unescapeOctal(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "\\"), let v = octalTriple(u, i + 1) {
                out.append(v)
                i += 4
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func octalTriple(_ u: [UInt8], _ at: Int) -> UInt8? {
        guard at + 3 <= u.count else { return nil }
        var v: UInt32 = 0
        for k in 0..<3 {
            let c = u[at + k]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "7") else { return nil }
            v = v * 8 + UInt32(c - UInt8(ascii: "0"))
        }
        return v <= 255 ? UInt8(v) : nil
    }
}
