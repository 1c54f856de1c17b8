import ArgumentParser
import Engine
import Glibc
import CSys

/// `criu restore`: bring a dumped process back from its images.
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restore", abstract: "Restore a process from image files.")

    @OptionGroup var common: CommonOptions

    @Flag(name: [.customShort("d"), .customLong("restore-detached")], help: "Exit once the process runs, without waiting for it.")
    var detached = false

    @Option(name: .customLong("pidfile"), help: "Write the restored process' pid to this file (relative: in the work directory).")
    var pidfile: String?

    @Flag(name: [.customShort("j"), .customLong("shell-job")], help: "The process was a shell job: give it our terminal.")
    var shellJob = false

    @Flag(name: .customLong("restore-sibling"), help: "Restore the root as a sibling of criu (a child of criu's parent); criu does not wait for it.")
    var sibling = false
    @Flag(name: .customLong("file-locks"), help: "Take the saved file locks again.")
    var fileLocks = false

    @Flag(name: .customLong("leave-stopped"), help: "Leave the restored process stopped.")
    var leaveStopped = false

    @Option(name: .customLong("timeout"), help: "Seconds any single wait for the process may take.")
    var timeout: Int = 10

    @Option(name: .customLong("status-fd"), help: "Write one zero byte to this fd when the process runs.")
    var statusFd: Int32?

    @Flag(name: .customLong("link-remap"), help: "Accepted as CRIU does; link-remaps made at dump are used and removed anyway.")
    var linkRemap = false

    @Option(name: .customLong("inherit-fd"), help: "fd[N]:KEY: our fd N stands in for the dumped file KEY (pipe:[INODE], file[MNT:INODE], path).")
    var inheritFd: [String] = []

    func validate() throws {
        for s in inheritFd {
            do { _ = try InheritFd.parse(s) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        let log = try setUpLogging(logFile: common.logFile, workDir: common.effectiveWorkDir,
                                   verbosity: common.verbosity, label: "restore")
        var o = RestoreOptions(imagesDir: common.imagesDir)
        o.detached = detached
        o.leaveStopped = leaveStopped
        o.shellJob = shellJob
        o.sibling = sibling
        o.fileLocks = fileLocks
        o.timeoutSeconds = timeout
        for s in inheritFd { let (fd, key) = try InheritFd.parse(s); o.inheritFds[key] = fd }
        o.faults = Faults.fromEnvironment()
        let pid: Int32
        do {
            pid = try Restorer(options: o, logger: log).run()
        } catch {
            log.error("\(error)")
            throw ExitCode(1)
        }
        if let pidfile {
            let path = pidfile.hasPrefix("/") ? pidfile : "\(common.effectiveWorkDir)/\(pidfile)"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                log.error("can't write pidfile \(path): \(String(cString: strerror(errno)))")
                kill(pid, SIGKILL)
                throw ExitCode(1)
            }
            writeAll(fd, "\(pid)")
            close(fd)
        }
        log.info("Restore finished successfully, pid \(pid)")
        if let statusFd { signalReady(statusFd) }
        // A sibling is our parent's child: only our parent can wait for it.
        if detached || sibling { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw ExitCode(1) }
        }
        if csys_wifexited(status) != 0 { throw ExitCode(csys_wexitstatus(status)) }
        log.error("restored task \(pid) was killed by signal \(csys_wtermsig(status))")
        throw ExitCode(1)
    }
}
