import Glibc
import CSys

/// cwd/root/umask shared by a parent and its children (CLONE_FS at dump: the same fs_id in their
/// ids images). The child is cloned with CLONE_FS by its parent, so the two share one fs_struct again;
/// the child then leaves cwd, root and umask to the parent (equal by construction), since a second
/// chroot would resolve the root path inside the first.
enum SharedFs {
    /// CLONE_FS when `fsID` equals the parent's; refuses an fs_id shared with any other task (the
    /// dumped tree is in pstree order, parents first).
    static func cloneFlags(pid: Int32, fsID: UInt32, parentFsID: UInt32?, seen: inout [UInt32: Int32]) throws -> UInt64 {
        defer { if seen[fsID] == nil { seen[fsID] = pid } }
        if let parentFsID, parentFsID == fsID { return UInt64(CSYS_CLONE_FS) }
        if let other = seen[fsID] {
            throw EngineError("restore", pid: pid,
                              reason: "shares cwd/root/umask (fs_id \(fsID)) with pid \(other), which is not its parent; not supported")
        }
        return 0
    }
}
