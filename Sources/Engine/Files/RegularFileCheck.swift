import Glibc
import CSys
import Images

/// What makes a regular file "the same file" between dump and restore: its size, its mtime and, for ELF
/// files, the GNU build-id. A task restored against a different file would read other bytes than it
/// expects at its position (or run other code in a mapping), so restore refuses a changed file.
enum RegularFileCheck {
    /// A log opened O_WRONLY|O_APPEND keeps growing while the task runs; its size says nothing (CRIU
    /// skips it for the same reason).
    static func worthChecking(flags: UInt32) -> Bool {
        !(Int32(bitPattern: flags) & O_ACCMODE == O_WRONLY && Int32(bitPattern: flags) & O_APPEND != 0)
    }

    /// Fills size and mtime (and the build-id when asked: files the task maps or executes).
    static func record(_ r: inout RegFileEntry, stat st: stat, path: String, buildId: Bool) {
        guard st.st_mode & S_IFMT == S_IFREG, worthChecking(flags: r.flags) else { return }
        r.size = UInt64(st.st_size)
        r.mtimeNs = mtime(st)
        if buildId, let words = ElfBuildId.read(path: path) { r.buildID = words }
    }

    static func mtime(_ st: stat) -> UInt64 {
        UInt64(st.st_mtim.tv_sec) &* 1_000_000_000 &+ UInt64(st.st_mtim.tv_nsec)
    }

    /// Throws one line naming the path and what differs. `st` is the file as it is now.
    static func verify(_ r: RegFileEntry, stat st: stat, what: String = "open file") throws {
        if r.hasMode && st.st_mode & S_IFMT != r.mode & S_IFMT {
            throw EngineError(what, path: r.name, reason: "its type changed since the dump")
        }
        guard st.st_mode & S_IFMT == S_IFREG, worthChecking(flags: r.flags) else { return }
        if r.hasSize && UInt64(st.st_size) != r.size {
            throw EngineError(what, path: r.name,
                              reason: "its size changed since the dump (\(r.size) then, \(st.st_size) now)")
        }
        if r.hasMtimeNs && mtime(st) != r.mtimeNs {
            throw EngineError(what, path: r.name,
                              reason: "it was modified since the dump (mtime \(stamp(r.mtimeNs)) then, \(stamp(mtime(st))) now)")
        }
        if !r.buildID.isEmpty {
            let now = ElfBuildId.read(path: r.name)
            if now != r.buildID {
                throw EngineError(what, path: r.name,
                                  reason: "its ELF build-id changed since the dump (\(hex(r.buildID)) then, \(now.map(hex) ?? "none") now)")
            }
        }
    }

    /// Checks a file the restore opens by path (exe, mapped files) before anything is created.
    static func verify(path entry: FileEntry?, what: String) throws {
        guard let entry, entry.hasReg else { return }
        var st = stat()
        guard csys_stat(entry.reg.name, &st) == 0 else {
            throw EngineError(what, path: entry.reg.name, errno: .init(rawValue: errno))
        }
        try verify(entry.reg, stat: st, what: what)
    }

    private static func stamp(_ ns: UInt64) -> String {
        let frac = String(ns % 1_000_000_000)
        return "\(ns / 1_000_000_000).\(String(repeating: "0", count: 9 - frac.count))\(frac)"
    }

    private static func hex(_ words: [UInt32]) -> String {
        var s = ""
        for w in words {
            for i in 0..<4 {
                let b = UInt8(truncatingIfNeeded: w >> (8 * UInt32(i)))
                s += (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return s
    }
}
