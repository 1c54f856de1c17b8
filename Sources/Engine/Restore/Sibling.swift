import CSys
import Glibc

/// `--restore-sibling`: the root is created with CLONE_PARENT, so it becomes a child of criu's parent
/// (the caller, e.g. a container runtime that wants to wait for it itself) instead of criu's. criu still
/// ptraces it as root. The root's PDEATHSIG then follows the caller, not criu; a failed restore kills it
/// by pid, and the caller reaps it.
let siblingCloneFlags = UInt64(CSYS_CLONE_PARENT)
