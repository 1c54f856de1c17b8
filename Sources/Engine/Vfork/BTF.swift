import Glibc

/// The kernel's own type description (/sys/kernel/btf/vmlinux). We need it for two things only: the BTF id of
/// the FUNC a task-iterator program attaches to, and struct member offsets inside task_struct and friends,
/// which differ between kernel builds. Only the type and string sections are parsed.
public struct BTF: Sendable {
    public enum Kind: UInt32, Sendable {
        case int = 1, ptr, array, structure, union, enumeration, fwd, typedef, volatile, const, restrict,
             function, funcProto, variable, datasec, float, declTag, typeTag, enum64
    }

    public struct Member: Sendable {
        public var name: String
        public var type: UInt32
        /// Offset in bits from the start of the containing struct.
        public var bitOffset: UInt32
        public var bitfieldSize: UInt32
    }

    public struct TypeInfo: Sendable {
        public var kind: Kind
        public var name: String
        /// Size for int/struct/union/enum/float/datasec; the referenced type id for the others.
        public var sizeOrType: UInt32
        public var members: [Member] = []
        public var arrayElement: UInt32 = 0
        public var arrayCount: UInt32 = 0
    }

    public let types: [TypeInfo]   // index 0 is the void type, ids start at 1

    public static let vmlinuxPath = "/sys/kernel/btf/vmlinux"

    /// The running kernel's BTF, parsed once per criu run (it does not change while the kernel runs).
    static let vmlinux = Result { try loadVmlinux() }

    public static func loadVmlinux() throws -> BTF {
        let bytes: [UInt8]
        do { bytes = try ProcFile.readBytes(vmlinuxPath, limit: 256 << 20) } catch {
            throw EngineError("read kernel BTF", path: vmlinuxPath, reason: "\(error)")
        }
        return try BTF(bytes: bytes)
    }

    public init(bytes: [UInt8]) throws {
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        func bad(_ why: String) -> EngineError { EngineError("parse kernel BTF", path: BTF.vmlinuxPath, reason: why) }
        guard bytes.count >= 24, bytes[0] == 0x9f, bytes[1] == 0xeb else { throw bad("no BTF magic (only little-endian BTF is read)") }
        let hdrLen = Int(u32(4))
        let typeStart = hdrLen + Int(u32(8)), typeEnd = typeStart + Int(u32(12))
        let strStart = hdrLen + Int(u32(16)), strEnd = strStart + Int(u32(20))
        guard typeEnd <= bytes.count, strEnd <= bytes.count else { throw bad("sections run past the end") }
        func string(_ off: UInt32) -> String {
            var i = strStart + Int(off)
            guard i < strEnd else { return "" }
            let s = i
            while i < strEnd, bytes[i] != 0 { i += 1 }
            return String(decoding: bytes[s..<i], as: UTF8.self)
        }
        var list = [TypeInfo(kind: .int, name: "void", sizeOrType: 0)]
        var p = typeStart
        while p + 12 <= typeEnd {
            let info = u32(p + 4)
            let vlen = Int(info & 0xffff), kflag = info >> 31
            guard let kind = Kind(rawValue: (info >> 24) & 0x1f) else { throw bad("unknown type kind \((info >> 24) & 0x1f) at type \(list.count)") }
            var t = TypeInfo(kind: kind, name: string(u32(p)), sizeOrType: u32(p + 8))
            p += 12
            switch kind {
            case .int, .variable, .declTag: p += 4
            case .array:
                t.arrayElement = u32(p); t.arrayCount = u32(p + 8); p += 12
            case .structure, .union:
                for i in 0..<vlen {
                    let q = p + i * 12, off = u32(q + 8)
                    t.members.append(Member(name: string(u32(q)), type: u32(q + 4),
                                            bitOffset: kflag != 0 ? off & 0xffffff : off,
                                            bitfieldSize: kflag != 0 ? off >> 24 : 0))
                }
                p += vlen * 12
            case .enumeration, .funcProto: p += vlen * 8
            case .datasec, .enum64: p += vlen * 12
            default: break
            }
            list.append(t)
        }
        guard p == typeEnd else { throw bad("type section does not end on a type boundary") }
        types = list
    }

    public func id(of name: String, kind: Kind) -> UInt32? {
        types.indices.first { types[$0].kind == kind && types[$0].name == name }.map { UInt32($0) }
    }

    /// Follows typedefs and qualifiers to the type that has a layout.
    public func resolve(_ id: UInt32) -> UInt32 {
        var id = id
        while Int(id) < types.count, [.typedef, .volatile, .const, .restrict, .typeTag].contains(types[Int(id)].kind) {
            id = types[Int(id)].sizeOrType
        }
        return id
    }

    public func size(of id: UInt32) -> Int? {
        let t = types[Int(resolve(id))]
        switch t.kind {
        case .int, .structure, .union, .enumeration, .enum64, .float: return Int(t.sizeOrType)
        case .ptr: return 8
        case .array: return size(of: t.arrayElement).map { $0 * Int(t.arrayCount) }
        default: return nil
        }
    }

    public func structSize(_ name: String) throws -> Int {
        guard let id = id(of: name, kind: .structure), let s = size(of: id) else { throw missing("struct \(name)") }
        return s
    }

    /// Byte offset and type of a dotted member path ("thread.fsbase") inside struct `name`; members of
    /// anonymous structs/unions are found as if they were direct members, as C sees them.
    public func offset(of path: String, in name: String) throws -> (offset: Int, type: UInt32) {
        guard let sid = id(of: name, kind: .structure) else { throw missing("struct \(name)") }
        var type = sid, bits = 0
        for part in path.split(separator: ".").map(String.init) {
            guard let (b, t) = find(part, in: resolve(type)) else { throw missing("member \(path) of struct \(name)") }
            bits += b; type = t
        }
        guard bits % 8 == 0 else { throw missing("byte-aligned member \(path) of struct \(name)") }
        return (bits / 8, type)
    }

    /// Bit offset and width of a bitfield member, for fields the kernel packs (e.g. task_struct flags bits).
    public func bitfield(_ member: String, in name: String) throws -> (bitOffset: Int, width: Int) {
        guard let sid = id(of: name, kind: .structure), let (b, _) = find(member, in: sid) else { throw missing("member \(member) of struct \(name)") }
        let m = types[Int(sid)].members.first { $0.name == member }
        return (b, Int(m?.bitfieldSize ?? 0))
    }

    private func find(_ member: String, in id: UInt32) -> (Int, UInt32)? {
        let t = types[Int(id)]
        guard t.kind == .structure || t.kind == .union else { return nil }
        for m in t.members {
            if m.name == member { return (Int(m.bitOffset), m.type) }
            if m.name.isEmpty, let (b, ty) = find(member, in: resolve(m.type)) { return (Int(m.bitOffset) + b, ty) }
        }
        return nil
    }

    private func missing(_ what: String) -> EngineError {
        EngineError("look up kernel type", path: BTF.vmlinuxPath, reason: "\(what) not found in the kernel's BTF")
    }
}
