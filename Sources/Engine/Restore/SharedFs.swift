import Glibc
import CSys

/// cwd/root/umask shared by a parent and its children (CLONE_FS at dump: the same fs_id in their
/// ids images). The child is cloned with CLONE_FS by its parent, so the two share one fs_struct again;
/// the child then leaves cwd, root and umask to the parent (equal by construction), since a second
/// chroot would resolve the root path inside the first.
enum SharedFs {
    /// CLONE_FS when `fsID` equals the parent's (CloneShare's rule).
    static func cloneFlags(pid: Int32, fsID: UInt32, parentFsID: UInt32?, seen: inout [UInt32: Int32]) throws -> UInt64 {
        try CloneShare.fs.cloneFlag(pid: pid, id: fsID, parentID: parentFsID, seen: &seen)
    }
}
