/// `criu dump --external file[MNT_ID:INODE]`: a file the task holds that the restore will not find by
/// path (another mount namespace, a file of the container runtime). Its entry keeps the key as its
/// name with `ext` set, as CRIU writes it, and restore takes it from `--inherit-fd fd[N]:file[...]`.
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

    /// Parses `--external` values; returns the file keys, or throws for a malformed file[...] one.
    /// Other resource kinds (mnt, dev, tty, unix, net, pid) are not handled here.
    static func fileKeys(_ values: [String]) throws -> Set<String> {
        var out: Set<String> = []
        for v in values where v.hasPrefix("file[") {
            let body = v.dropFirst(5)
            guard body.hasSuffix("]"), let colon = body.firstIndex(of: ":"),
                  let mnt = UInt32(body[..<colon], radix: 16),
                  let ino = UInt64(body[body.index(after: colon)...].dropLast(), radix: 16) else {
                throw EngineError("dump", reason: "--external \(v): expected file[MNT_ID:INODE] (both hex)")
            }
            out.insert(key(mntId: Int32(bitPattern: mnt), ino: ino))
        }
        return out
    }
}
