import ArgumentParser
import Engine
import Glibc

/// `criu dump`: checkpoint a process into an images directory.
struct Dump: ParsableCommand {
    // commandName given: ArgumentParser would otherwise derive it from the type name by reflection, at start-up.
    static let configuration = CommandConfiguration(commandName: "dump", abstract: "Checkpoint a process into image files.")

    @OptionGroup var common: CommonOptions

    @Option(name: [.customShort("t"), .customLong("tree")], help: "Pid of the process to dump.")
    var tree: Int32

    @Flag(name: [.customShort("R"), .customLong("leave-running")], help: "Let the process run on after the dump.")
    var leaveRunning = false

    @Flag(name: .customLong("leave-stopped"), help: "Leave the process stopped after the dump.")
    var leaveStopped = false

    @Flag(name: [.customShort("j"), .customLong("shell-job")], help: "The process was started from a shell and uses its terminal.")
    var shellJob = false

    @Flag(name: .customLong("file-locks"), help: "Save the file locks the processes hold.")
    var fileLocks = false

    @Option(name: .customLong("ghost-limit"), help: "Largest deleted-but-open file to save, in bytes (K, M, G suffixes).")
    var ghostLimit: String?

    @Option(name: .customLong("timeout"), help: "Seconds any single wait for the process may take.")
    var timeout: Int = 10

    @Flag(name: .customLong("link-remap"), help: "Link a deleted file that still has other links back under a temporary name.")
    var linkRemap = false

    @Option(name: .customLong("external"), help: "An external resource: file[MNT_ID:INODE] or tty[RDEV:DEV] (hex), restored from --inherit-fd.")
    var external: [String] = []

    @Option(name: .customLong("status-fd"), help: "Write one zero byte to this fd when the dump is done.")
    var statusFd: Int32?

    @Option(name: .customLong("pidfile"), help: "Accepted for compatibility; dump writes no pidfile.")
    var pidfile: String?

    func validate() throws {
        if leaveRunning && leaveStopped { throw ValidationError("--leave-running and --leave-stopped exclude each other") }
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        if let ghostLimit, Self.size(ghostLimit) == nil { throw ValidationError("--ghost-limit: \"\(ghostLimit)\" is not a size") }
    }

    func run() throws {
        let log = try setUpLogging(logFile: common.logFile, workDir: common.effectiveWorkDir,
                                   verbosity: common.verbosity, label: "dump")
        var o = DumpOptions(pid: tree, imagesDir: common.imagesDir)
        o.after = leaveRunning ? .leaveRunning : leaveStopped ? .leaveStopped : .kill
        o.shellJob = shellJob
        o.fileLocks = fileLocks
        o.timeoutSeconds = timeout
        o.linkRemap = linkRemap
        do { try o.setExternal(external) } catch {
            log.error("\(error)")
            throw ExitCode(1)
        }
        if let ghostLimit, let n = Self.size(ghostLimit) { o.ghostLimit = n }
        o.faults = Faults.fromEnvironment()
        do {
            _ = try Dumper(options: o, logger: log).run()
        } catch {
            log.error("\(error)")
            throw ExitCode(1)
        }
        log.info("Dumping finished successfully")
        if let statusFd { signalReady(statusFd) }
    }
}

extension Dump {
    /// "1048576", "512K", "1M", "2G"
    static func size(_ s: String) -> UInt64? {
        guard let last = s.last else { return nil }
        let mult: UInt64 = switch last {
        case "k", "K": 1 << 10
        case "m", "M": 1 << 20
        case "g", "G": 1 << 30
        default: 1
        }
        guard let n = UInt64(mult == 1 ? s : String(s.dropLast())) else { return nil }
        let (r, o) = n.multipliedReportingOverflow(by: mult)
        return o ? nil : r
    }
}

/// CRIU's --status-fd protocol: one zero byte, then the fd is closed.
func signalReady(_ fd: Int32) {
    var zero: UInt8 = 0
    _ = write(fd, &zero, 1)
    close(fd)
}
