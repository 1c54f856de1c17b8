import CSys

/// The restore's one rule for a kernel object a child may share with its parent (fs, fd table, address
/// space, signal handlers): the child is cloned with the object's CLONE_ flag when its id equals its
/// parent's, and any other task holding the same id is refused, since only a parent can hand an object
/// to its child at clone time. The tree comes in pstree order, parents first, so the first holder of an
/// id is seen before its sharers.
struct CloneShare {
    let flag: Int32
    /// What the object is, for the error: "cwd/root/umask".
    let what: String
    /// The ids image field: "fs_id".
    let idName: String

    static let fs = CloneShare(flag: CSYS_CLONE_FS, what: "cwd/root/umask", idName: "fs_id")
    static let files = CloneShare(flag: CSYS_CLONE_FILES, what: "its fd table", idName: "files_id")
    static let vm = CloneShare(flag: CSYS_CLONE_VM, what: "its address space", idName: "vm_id")
    static let sighand = CloneShare(flag: CSYS_CLONE_SIGHAND, what: "its signal handlers", idName: "sighand_id")

    /// The flag when `id` is the parent's (`parentID` nil: the root), 0 when the task holds it alone;
    /// records the first holder of each id in `seen`.
    func cloneFlag(pid: Int32, id: UInt32, parentID: UInt32?, seen: inout [UInt32: Int32]) throws -> UInt64 {
        defer { if seen[id] == nil { seen[id] = pid } }
        if let parentID, parentID == id { return UInt64(flag) }
        if let other = seen[id] {
            throw EngineError("restore", pid: pid,
                              reason: "shares \(what) (\(idName) \(id)) with pid \(other), which is not its parent; not supported")
        }
        return 0
    }
}
