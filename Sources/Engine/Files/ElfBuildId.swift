import Glibc
import CSys

/// The GNU build-id note of an ELF file (NT_GNU_BUILD_ID in a PT_NOTE segment), packed into 32-bit words
/// the way CRIU's reg_file_entry.build_id holds it (bytes in memory order, zero-padded to a word). Two
/// builds of a library differ in it even when size and mtime were forced equal.
enum ElfBuildId {
    private static let ptNote: UInt32 = 4
    private static let ntGnuBuildId: UInt32 = 3

    /// nil: not an ELF file, not 64-bit, or no build-id note.
    static func read(path: String) -> [UInt32]? {
        let fd = csys_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let eh = bytes(fd, at: 0, count: 64), eh[0] == 0x7f, eh[1] == 0x45, eh[2] == 0x4c, eh[3] == 0x46,
              eh[4] == 2, eh[5] == 1 else { return nil }
        let phoff = u64(eh, 32), phentsize = Int(u16(eh, 54)), phnum = Int(u16(eh, 56))
        guard phentsize >= 56, phnum > 0, phnum < 4096,
              let ph = bytes(fd, at: phoff, count: phentsize * phnum) else { return nil }
        for i in 0..<phnum {
            let p = i * phentsize
            guard u32(ph, p) == ptNote else { continue }
            let off = u64(ph, p + 8), size = Int(u64(ph, p + 32))
            guard size > 0, size < 1 << 16, let notes = bytes(fd, at: off, count: size) else { continue }
            if let id = buildId(in: notes) { return pack(id) }
        }
        return nil
    }

    private static func buildId(in n: [UInt8]) -> [UInt8]? {
        var at = 0
        while at + 12 <= n.count {
            let namesz = Int(u32(n, at)), descsz = Int(u32(n, at + 4)), type = u32(n, at + 8)
            let name = at + 12, desc = name + (namesz + 3) & ~3
            guard desc + descsz <= n.count else { return nil }
            if type == ntGnuBuildId && namesz == 4 && Array(n[name..<name + 4]) == [0x47, 0x4e, 0x55, 0] {
                return Array(n[desc..<desc + descsz])
            }
            at = desc + (descsz + 3) & ~3
        }
        return nil
    }

    private static func pack(_ b: [UInt8]) -> [UInt32] {
        stride(from: 0, to: b.count, by: 4).map { i in
            var w: UInt32 = 0
            for k in 0..<4 where i + k < b.count { w |= UInt32(b[i + k]) << (8 * UInt32(k)) }
            return w
        }
    }

    private static func bytes(_ fd: Int32, at: UInt64, count: Int) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: count)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(Int64(bitPattern: at))) }
        return n == count ? buf : nil
    }

    private static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(u16(b, i)) | UInt32(u16(b, i + 2)) << 16 }
    private static func u64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(u32(b, i)) | UInt64(u32(b, i + 4)) << 32 }
}
