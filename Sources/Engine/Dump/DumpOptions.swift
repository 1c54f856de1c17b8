/// What `criu dump` was asked to do.
public struct DumpOptions: Sendable {
    public enum After: Sendable { case kill, leaveRunning, leaveStopped }

    public var pid: Int32
    public var imagesDir: String
    public var after: After = .kill
    public var shellJob = false
    /// Save the file locks the tasks hold (--file-locks); without it a held lock fails the dump.
    public var fileLocks = false
    /// Largest deleted-but-open file whose contents are saved (--ghost-limit).
    public var ghostLimit: UInt64 {
        get { files.ghostLimit }
        set { files.ghostLimit = newValue }
    }
    var files = FileDumpOptions()
    /// --link-remap: link a deleted file that has other links back under a temporary name.
    public var linkRemap: Bool { get { files.linkRemap } set { files.linkRemap = newValue } }
    /// --external values; the file[MNT_ID:INODE] ones mark files restore takes from --inherit-fd.
    public mutating func setExternal(_ values: [String]) throws { files.externalFiles = try ExternalFile.fileKeys(values) }
    /// Longest a single wait for the task may take.
    public var timeoutSeconds: Int = 10
    public var faults = Faults(environment: nil)

    public init(pid: Int32, imagesDir: String) {
        self.pid = pid
        self.imagesDir = imagesDir
    }
}

/// Figures a dump reports, also written to stats-dump.
public struct DumpStats: Sendable {
    public var freezingMicros: UInt32 = 0
    public var frozenMicros: UInt32 = 0
    public var memdumpMicros: UInt32 = 0
    public var memwriteMicros: UInt32 = 0
    public var pagesScanned: UInt64 = 0
    public var pagesWritten: UInt64 = 0
}
