import Glibc
import CSys

/// Directories a restore makes for a moment because a file it must open by name sat in a directory
/// that was removed after the file was opened (ghost files, link-remaps), as CRIU does. They are
/// remembered in the restore context and removed, deepest first, once the files in them are gone.
enum TempPaths {
    private static let prefix = "madedir:"

    /// Creates the missing directories above `path` (mode 0700: nobody else needs to see them).
    static func makeParents(_ path: String, context: FileRestoreContext) throws {
        var missing: [String] = []
        var dir = path
        while let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
            dir = String(dir[..<slash])
            var st = stat()
            if csys_stat(dir, &st) == 0 { break }
            missing.append(dir)
        }
        for d in missing.reversed() {
            guard mkdir(d, 0o700) == 0 else {
                let e = errno
                sweep(context)
                throw EngineError("make directory for a deleted file", path: d, errno: .init(rawValue: e))
            }
            context.paths[prefix + d] = d
        }
    }

    /// Whether the restore made `dir` (a ghost directory may then take it over as itself).
    static func made(_ dir: String, context: FileRestoreContext) -> Bool { context.paths[prefix + dir] != nil }

    /// Adds a directory to remove once it is empty.
    static func removeLater(_ dir: String, context: FileRestoreContext) { context.paths[prefix + dir] = dir }

    /// Removes every made directory that is empty by now; the rest wait for a later sweep (each file
    /// removed after its fds are placed sweeps again, so the last one leaves nothing behind).
    static func sweep(_ context: FileRestoreContext) {
        let dirs = context.paths.filter { $0.key.hasPrefix(prefix) }.map(\.value).sorted { $0.count > $1.count }
        for d in dirs where rmdir(d) == 0 || errno == ENOENT {
            context.paths.removeValue(forKey: prefix + d)
        }
    }
}
