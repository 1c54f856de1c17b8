/// The two-letter VmFlags of /proc/PID/smaps. Bits here are our own numbering (the kernel's VM_* bit
/// values change between versions and architectures); mnemonics we do not know are kept verbatim.
public struct VmFlags: Equatable, Sendable {
    public struct Known: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let read = Known(rawValue: 1 << 0)            // rd
        public static let write = Known(rawValue: 1 << 1)           // wr
        public static let exec = Known(rawValue: 1 << 2)            // ex
        public static let shared = Known(rawValue: 1 << 3)          // sh
        public static let mayRead = Known(rawValue: 1 << 4)         // mr
        public static let mayWrite = Known(rawValue: 1 << 5)        // mw
        public static let mayExec = Known(rawValue: 1 << 6)         // me
        public static let mayShare = Known(rawValue: 1 << 7)        // ms
        public static let growsDown = Known(rawValue: 1 << 8)       // gd
        public static let pfnMap = Known(rawValue: 1 << 9)          // pf
        public static let denyWrite = Known(rawValue: 1 << 10)      // dw
        public static let locked = Known(rawValue: 1 << 11)         // lo
        public static let io = Known(rawValue: 1 << 12)             // io
        public static let seqRead = Known(rawValue: 1 << 13)        // sr
        public static let randRead = Known(rawValue: 1 << 14)       // rr
        public static let dontCopy = Known(rawValue: 1 << 15)       // dc
        public static let dontExpand = Known(rawValue: 1 << 16)     // de
        public static let account = Known(rawValue: 1 << 17)        // ac
        public static let noReserve = Known(rawValue: 1 << 18)      // nr
        public static let hugetlb = Known(rawValue: 1 << 19)        // ht
        public static let sync = Known(rawValue: 1 << 20)           // sf
        public static let nonLinear = Known(rawValue: 1 << 21)      // nl
        public static let arch1 = Known(rawValue: 1 << 22)          // ar
        public static let wipeOnFork = Known(rawValue: 1 << 23)     // wf
        public static let dontDump = Known(rawValue: 1 << 24)       // dd
        public static let softDirty = Known(rawValue: 1 << 25)      // sd
        public static let mixedMap = Known(rawValue: 1 << 26)       // mm
        public static let hugePage = Known(rawValue: 1 << 27)       // hg
        public static let noHugePage = Known(rawValue: 1 << 28)     // nh
        public static let mergeable = Known(rawValue: 1 << 29)      // mg
        public static let uffdMissing = Known(rawValue: 1 << 30)    // um
        public static let uffdWP = Known(rawValue: 1 << 31)         // uw
        public static let shadowStack = Known(rawValue: 1 << 32)    // ss
        public static let sealed = Known(rawValue: 1 << 33)         // sl
        public static let bti = Known(rawValue: 1 << 34)            // bt
        public static let mte = Known(rawValue: 1 << 35)            // mt
        public static let lockOnFault = Known(rawValue: 1 << 37)    // lf
        public static let uffdMinor = Known(rawValue: 1 << 38)      // ui
        public static let droppable = Known(rawValue: 1 << 39)      // dp
    }

    static let table: [(String, Known)] = [
        ("rd", .read), ("wr", .write), ("ex", .exec), ("sh", .shared), ("mr", .mayRead), ("mw", .mayWrite),
        ("me", .mayExec), ("ms", .mayShare), ("gd", .growsDown), ("pf", .pfnMap), ("dw", .denyWrite),
        ("lo", .locked), ("io", .io), ("sr", .seqRead), ("rr", .randRead), ("dc", .dontCopy),
        ("de", .dontExpand), ("ac", .account), ("nr", .noReserve), ("ht", .hugetlb), ("sf", .sync),
        ("nl", .nonLinear), ("ar", .arch1), ("wf", .wipeOnFork), ("dd", .dontDump), ("sd", .softDirty),
        ("mm", .mixedMap), ("hg", .hugePage), ("nh", .noHugePage), ("mg", .mergeable),
        ("um", .uffdMissing), ("uw", .uffdWP), ("ss", .shadowStack), ("sl", .sealed), ("bt", .bti),
        ("mt", .mte), ("lf", .lockOnFault), ("ui", .uffdMinor), ("dp", .droppable),
    ]

    /// The table keyed by the two letters packed into 16 bits, for matching without building strings.
    static let codes: [(UInt16, Known)] = table.map { (name, k) in
        let u = Array(name.utf8)
        return (UInt16(u[0]) << 8 | UInt16(u[1]), k)
    }

    public var known: Known
    /// Mnemonics this code does not know, in the order the kernel printed them.
    public var unknown: [String]

    public init(known: Known = [], unknown: [String] = []) {
        self.known = known
        self.unknown = unknown
    }

    public func contains(_ k: Known) -> Bool { known.contains(k) }

    /// Parse the value of a "VmFlags:" line ("rd wr mr mw me ac sd").
    public static func parse(_ value: Substring) -> VmFlags {
        var f = VmFlags()
        for w in TextFields.words(value) {
            let u = w.utf8
            if u.count == 2, let hit = codes.first(where: { $0.0 == UInt16(u.first!) << 8 | UInt16(u.last!) }) {
                f.known.insert(hit.1)
            } else {
                f.unknown.append(String(w))
            }
        }
        return f
    }

    /// The mnemonics again, known ones in table order then unknown ones.
    public var mnemonics: [String] {
        Self.table.filter { known.contains($0.1) }.map { $0.0 } + unknown
    }
}

/// One VMA of /proc/PID/smaps: the maps line, its counters and its VmFlags.
public struct SmapsEntry: Equatable, Sendable {
    public var vma: VMA
    /// The counter lines as printed, parsed only when asked for: the dump needs the VmFlags alone, and
    /// building a dictionary of ~25 counters per VMA was most of the cost of reading smaps.
    var counters: Substring

    public init(vma: VMA, counters: Substring = "") {
        self.vma = vma
        self.counters = counters
    }

    /// Counters such as "Rss", "Anonymous", "Swap", "Locked" in kB, and unit-less ones
    /// ("THPeligible", "ProtectionKey") as printed.
    public var fields: [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in TextFields.lines(counters) {
            if let (k, v) = TextFields.keyValue(line), let n = TextFields.words(v).first, let num = UInt64(n) {
                out[String(k)] = num
            }
        }
        return out
    }

    public func kB(_ key: String) -> UInt64? { fields[key] }
}

public enum Smaps {
    private static let vmFlagsKey = Array("VmFlags:".utf8)

    public static func parse(_ text: String, source: String = "smaps") throws(ProcError) -> [SmapsEntry] {
        var out: [SmapsEntry] = []
        // Where the current VMA's counter lines begin and end.
        var first: String.Index?, last: String.Index?
        func closeCounters() {
            if let f = first, let l = last, !out.isEmpty { out[out.count - 1].counters = text[f..<l] }
            first = nil
            last = nil
        }
        let u = text.utf8
        var next = u.startIndex
        while next < u.endIndex {
            let end = u[next...].firstIndex(of: UInt8(ascii: "\n")) ?? u.endIndex
            let line = text[next..<end]
            next = end < u.endIndex ? u.index(after: end) : end
            guard let lead = line.utf8.first else { continue }
            // Counter names start with a capital letter, VMA lines with a hex digit.
            if !(0x41...0x5a).contains(lead) && Maps.isHeader(line) {
                closeCounters()
                out.append(SmapsEntry(vma: try Maps.parseLine(line, source: source)))
                continue
            }
            guard !out.isEmpty else { throw .malformed(source, "counter before the first VMA: \"\(line)\"") }
            if line.utf8.starts(with: vmFlagsKey) {
                let v = line.utf8.dropFirst(vmFlagsKey.count)
                out[out.count - 1].vma.flags = VmFlags.parse(Substring(v))
                continue
            }
            guard line.utf8.contains(UInt8(ascii: ":")) else {
                throw .malformed(source, "not a \"Key: value\" line: \"\(line)\"")
            }
            if first == nil { first = line.startIndex }
            last = line.endIndex
        }
        closeCounters()
        return out
    }

    public static func read(pid: Int32) throws(ProcError) -> [SmapsEntry] {
        let path = "/proc/\(pid)/smaps"
        return try parse(ProcFile.readText(path), source: path)
    }
}
