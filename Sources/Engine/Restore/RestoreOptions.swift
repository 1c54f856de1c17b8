/// What `criu restore` was asked to do.
public struct RestoreOptions: Sendable {
    public var imagesDir: String
    /// --inherit-fd: key -> criu's fd that stands in for that file (InheritFd).
    public var inheritFds: [String: Int32] = [:]
    /// Return as soon as the task runs, instead of waiting for it to exit.
    public var detached = false
    public var leaveStopped = false
    public var shellJob = false
    /// Create the root as a sibling of criu (a child of criu's parent), not as criu's child.
    public var sibling = false
    /// Take the dumped file locks again (--file-locks).
    public var fileLocks = false
    public var timeoutSeconds = 10
    public var faults = Faults(environment: nil)

    public init(imagesDir: String) { self.imagesDir = imagesDir }
}
