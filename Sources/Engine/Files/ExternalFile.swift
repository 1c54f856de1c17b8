import Glibc
import Images

/// `criu dump --external file[MNT_ID:INODE]`: a file the task holds that the restore will not find by
/// path (another mount namespace, a file of the container runtime). Its entry keeps the key as its
/// name with `ext` set, as CRIU writes it, and restore takes it from `--inherit-fd fd[N]:file[...]`.
/// `--external tty[RDEV:DEV]` does the same for a terminal whose other end is outside (a container's
/// console): a tty-info of type EXT_TTY, restored from `--inherit-fd fd[N]:tty[RDEV:DEV]`.
enum ExternalFile {
    /// CRIU's key: mount id and inode, both in hex.
    static func key(mntId: Int32, ino: UInt64) -> String {
        "file[\(String(UInt32(bitPattern: mntId), radix: 16)):\(String(ino, radix: 16))]"
    }

    static func key(_ fd: OpenFd, context: FileDumpContext) -> String? {
        guard !context.options.externalFiles.isEmpty else { return nil }
        let mnt = fd.info.mntId
        let k = key(mntId: mnt, ino: UInt64(fd.stat.st_ino))
        return context.options.externalFiles.contains(k) ? k : nil
    }

    /// Parses `--external` values; returns the file[...] and tty[...] keys normalized, or throws for a
    /// malformed one. Other resource kinds (mnt, dev, unix, net, pid) are not handled here.
    static func fileKeys(_ values: [String]) throws -> Set<String> {
        var out: Set<String> = []
        for v in values {
            let kind = v.hasPrefix("file[") ? "file" : v.hasPrefix("tty[") ? "tty" : nil
            guard let kind else { continue }
            let body = v.dropFirst(kind.count + 1)
            guard body.hasSuffix("]"), let colon = body.firstIndex(of: ":"),
                  let a = UInt64(body[..<colon], radix: 16),
                  let b = UInt64(body[body.index(after: colon)...].dropLast(), radix: 16) else {
                throw EngineError("dump", reason: "--external \(v): expected \(kind == "file" ? "file[MNT_ID:INODE]" : "tty[RDEV:DEV]") (both hex)")
            }
            out.insert(kind == "file" ? key(mntId: Int32(truncatingIfNeeded: a), ino: b) : "tty[\(String(a, radix: 16)):\(String(b, radix: 16))]")
        }
        return out
    }

    static func ttyKey(_ fd: OpenFd, context: FileDumpContext) -> String? {
        guard !context.options.externalFiles.isEmpty else { return nil }
        let k = "tty[\(String(UInt64(fd.stat.st_rdev), radix: 16)):\(String(UInt64(fd.stat.st_dev), radix: 16))]"
        return context.options.externalFiles.contains(k) ? k : nil
    }

    /// CRIU's key of an external terminal's tty-info.
    static func ttyKey(_ i: TtyInfoEntry) -> String {
        "tty[\(String(i.rdev, radix: 16)):\(String(i.dev, radix: 16))]"
    }

    static func dumpTty(_ fd: OpenFd, key: String, context: FileDumpContext) throws -> UInt32 {
        let infoId = try TtyFile.infoId("tty:\(key)", context: context) { id in
            var i = TtyInfoEntry()
            i.id = id
            i.type = .extTty
            i.rdev = UInt32(truncatingIfNeeded: fd.stat.st_rdev)
            i.dev = UInt32(truncatingIfNeeded: fd.stat.st_dev)
            i.locked = false; i.exclusive = false; i.packetMode = false
            i.sid = 0; i.pgrp = 0
            return i
        }
        let local = try context.takeFd(fd.fd)
        defer { close(local) }
        return try TtyFile.addFile(context, infoId: infoId, fd: fd, local: local)
    }
}
