/// What `criu restore` was asked to do.
public struct RestoreOptions: Sendable {
    public var imagesDir: String
    /// Return as soon as the task runs, instead of waiting for it to exit.
    public var detached = false
    public var leaveStopped = false
    public var shellJob = false
    /// Take the dumped file locks again (--file-locks).
    public var fileLocks = false
    public var timeoutSeconds = 10
    public var faults = Faults(environment: nil)

    public init(imagesDir: String) { self.imagesDir = imagesDir }
}
