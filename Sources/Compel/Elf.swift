/// Reading an ELF64 relocatable object (x86-64, little endian) into a blob: the allocated sections laid out
/// one after the other, PC-relative relocations applied, absolute ones kept for load time.

/// Why an object or code blob cannot be used.
public struct BlobError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "blob: \(reason)" }
}

struct ElfReader {
    let b: [UInt8]

    func u8(_ o: Int) throws -> UInt8 { guard o < b.count else { throw BlobError("truncated object") }; return b[o] }
    func u16(_ o: Int) throws -> UInt16 { try le(o, 2).map { UInt16($0) }! }
    func u32(_ o: Int) throws -> UInt32 { try le(o, 4).map { UInt32($0) }! }
    func u64(_ o: Int) throws -> UInt64 { try le(o, 8)! }

    private func le(_ o: Int, _ n: Int) throws -> UInt64? {
        guard o >= 0, o + n <= b.count else { throw BlobError("truncated object (offset \(o))") }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(b[o + i]) << (8 * UInt64(i)) }
        return v
    }

    func cString(_ o: Int) throws -> String {
        guard o < b.count else { throw BlobError("string offset \(o) outside the object") }
        let end = b[o...].firstIndex(of: 0) ?? b.count
        return String(decoding: b[o..<end], as: UTF8.self)
    }
}

struct ElfSection {
    let name: String
    let type: UInt32
    let flags: UInt64
    let offset: Int
    let size: Int
    let link: Int
    let info: Int
    let align: Int
}

let SHT_SYMTAB: UInt32 = 2, SHT_RELA: UInt32 = 4, SHT_NOBITS: UInt32 = 8, SHT_REL: UInt32 = 9
let SHF_ALLOC: UInt64 = 2
let R_X86_64_NONE: UInt32 = 0, R_X86_64_64: UInt32 = 1, R_X86_64_PC32: UInt32 = 2, R_X86_64_PLT32: UInt32 = 4
let R_X86_64_PC64: UInt32 = 24

func parseRelocatable(_ bytes: [UInt8], entry: String) throws -> Blob {
    let r = ElfReader(b: bytes)
    guard bytes.count >= 64, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46 else {
        throw BlobError("not an ELF file")
    }
    guard bytes[4] == 2, bytes[5] == 1 else { throw BlobError("not a 64-bit little-endian ELF object") }
    guard try r.u16(16) == 1 else { throw BlobError("not a relocatable object (ET_REL); build it with cc -c") }
    guard try r.u16(18) == 62 else { throw BlobError("not an x86-64 object") }
    let shoff = Int(try r.u64(40)), shentsize = Int(try r.u16(58)), shnum = Int(try r.u16(60))
    let shstrndx = Int(try r.u16(62))
    guard shentsize == 64, shnum > 0, shstrndx < shnum else { throw BlobError("bad section header table") }

    func header(_ i: Int) throws -> (UInt32, ElfSection) {
        let o = shoff + i * 64
        return (try r.u32(o), ElfSection(name: "", type: try r.u32(o + 4), flags: try r.u64(o + 8),
                                          offset: Int(try r.u64(o + 24)), size: Int(try r.u64(o + 32)),
                                          link: Int(try r.u32(o + 40)), info: Int(try r.u32(o + 44)),
                                          align: Int(max(try r.u64(o + 48), 1))))
    }
    let strtabOff = try header(shstrndx).1.offset
    var sections: [ElfSection] = []
    for i in 0..<shnum {
        let (nameOff, s) = try header(i)
        sections.append(ElfSection(name: try r.cString(strtabOff + Int(nameOff)), type: s.type, flags: s.flags,
                                   offset: s.offset, size: s.size, link: s.link, info: s.info, align: s.align))
    }

    // Lay out what the code needs at run time; unwind tables and notes are not needed to call it.
    var placed: [Int: Int] = [:]
    var image: [UInt8] = []
    for (i, s) in sections.enumerated() where s.flags & SHF_ALLOC != 0 {
        if s.name.hasPrefix(".eh_frame") || s.name.hasPrefix(".note") { continue }
        if s.name.hasPrefix(".tdata") || s.name.hasPrefix(".tbss") { throw BlobError("thread-local data (\(s.name)) is not supported") }
        let at = (image.count + s.align - 1) / s.align * s.align
        image += [UInt8](repeating: 0, count: at - image.count)
        placed[i] = at
        if s.type == SHT_NOBITS {
            image += [UInt8](repeating: 0, count: s.size)
        } else {
            guard s.offset + s.size <= bytes.count else { throw BlobError("section \(s.name) outside the object") }
            image += bytes[s.offset..<(s.offset + s.size)]
        }
    }

    guard let symtabIndex = sections.firstIndex(where: { $0.type == SHT_SYMTAB }) else { throw BlobError("object has no symbol table") }
    let symtab = sections[symtabIndex]
    let symStrOff = sections[symtab.link].offset
    struct Sym { let name: String; let shndx: Int; let value: UInt64 }
    func symbol(_ k: Int) throws -> Sym {
        let o = symtab.offset + k * 24
        guard k >= 0, o + 24 <= symtab.offset + symtab.size else { throw BlobError("bad symbol index \(k)") }
        return Sym(name: try r.cString(symStrOff + Int(try r.u32(o))), shndx: Int(try r.u16(o + 6)), value: try r.u64(o + 8))
    }
    /// Image offset of a symbol.
    func resolve(_ s: Sym) throws -> Int64 {
        if s.shndx == 0 { throw BlobError("undefined symbol '\(s.name)': a blob must be self-contained") }
        if s.shndx == 0xfff1 { throw BlobError("absolute symbol '\(s.name)' is not supported") }
        guard let base = placed[s.shndx] else {
            throw BlobError("symbol '\(s.name)' lives in section \(sections[s.shndx].name), which is not loaded")
        }
        return Int64(base) + Int64(bitPattern: s.value)
    }

    var absolute: [(offset: Int, value: Int64)] = []
    for s in sections where s.type == SHT_REL {
        if placed[s.info] != nil { throw BlobError("REL relocations (\(s.name)) are not supported, only RELA") }
    }
    for s in sections where s.type == SHT_RELA {
        guard let target = placed[s.info] else { continue }
        guard s.link == symtabIndex else { throw BlobError("\(s.name) refers to an unknown symbol table") }
        for k in 0..<(s.size / 24) {
            let o = s.offset + k * 24
            let off = Int(try r.u64(o)), info = try r.u64(o + 8), addend = Int64(bitPattern: try r.u64(o + 16))
            let type = UInt32(truncatingIfNeeded: info), symIndex = Int(info >> 32)
            let p = target + off
            let where_ = "\(sections[s.info].name)+0x\(String(off, radix: 16))"
            switch type {
            case R_X86_64_NONE:
                continue
            case R_X86_64_PC32, R_X86_64_PLT32:
                let v = try resolve(try symbol(symIndex)) + addend - Int64(p)
                guard let v32 = Int32(exactly: v) else { throw BlobError("relocation at \(where_) out of 32-bit range") }
                try patch(&image, at: p, UInt64(UInt32(bitPattern: v32)), width: 4, where_)
            case R_X86_64_PC64:
                let v = try resolve(try symbol(symIndex)) + addend - Int64(p)
                try patch(&image, at: p, UInt64(bitPattern: v), width: 8, where_)
            case R_X86_64_64:
                absolute.append((p, try resolve(try symbol(symIndex)) + addend))
            default:
                throw BlobError("relocation type \(type) at \(where_) is not supported (use -fpie, no external symbols)")
            }
        }
    }

    var entryOffset: Int?
    for k in 0..<(symtab.size / 24) {
        let s = try symbol(k)
        if s.name == entry && s.shndx != 0 { entryOffset = Int(try resolve(s)) }
    }
    guard let entryOffset else { throw BlobError("entry symbol '\(entry)' not found") }
    return Blob(image: image, entryOffset: entryOffset, absoluteRelocations: absolute)
}

private func patch(_ image: inout [UInt8], at p: Int, _ v: UInt64, width: Int, _ where_: String) throws {
    guard p >= 0, p + width <= image.count else { throw BlobError("relocation at \(where_) outside its section") }
    for i in 0..<width { image[p + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
}
