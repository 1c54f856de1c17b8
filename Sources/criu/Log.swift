import Glibc
import Logging

/// CRIU's log: `(SS.uuuuuu) message` lines in the log file, timed from the start of the command. Errors and
/// warnings also go to stderr so the reason of a failure is the last line a user sees.
final class CriuLogHandler: LogHandler, @unchecked Sendable {
    private let fd: Int32
    private let start: timespec
    private let echoToStderr: Bool
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(fd: Int32, level: Logger.Level, echoToStderr: Bool, start: timespec) {
        self.fd = fd
        self.logLevel = level
        self.echoToStderr = echoToStderr
        self.start = start
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let (level, message) = (event.level, event.message)
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        var usec = (Int(now.tv_sec) - Int(start.tv_sec)) * 1_000_000 + (Int(now.tv_nsec) - Int(start.tv_nsec)) / 1000
        if usec < 0 { usec = 0 }
        let stamp = "(\(pad(usec / 1_000_000, 2)).\(pad(usec % 1_000_000, 6)))"
        let prefix = level >= .error ? "Error: " : level == .warning ? "Warn: " : ""
        writeAll(fd, "\(stamp) \(prefix)\(message)\n")
        if echoToStderr && fd != 2 && level >= .warning {
            writeAll(2, "\(prefix)\(message)\n")
        }
    }

    private func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buf in
        var off = 0
        while off < buf.count {
            let n = write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            off += n
        }
    }
}

/// CRIU's verbosity numbers: 0 nothing but fatal, 1 errors, 2 warnings (the default), 3 info, 4 debug.
func logLevel(forVerbosity v: Int) -> Logger.Level {
    switch v {
    case ...0: return .critical
    case 1: return .error
    case 2: return .warning
    case 3: return .info
    default: return .debug
    }
}

/// Opens the log file (relative paths live in the work directory, `-` means stderr) and installs the handler.
/// Returns a logger for the command.
func setUpLogging(logFile: String?, workDir: String, verbosity: Int, label: String) throws -> Logger {
    var start = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    var fd: Int32 = 2
    if let logFile, logFile != "-" {
        let path = logFile.hasPrefix("/") ? logFile : "\(workDir)/\(logFile)"
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError("can't open log file \(path): \(String(cString: strerror(errno)))") }
    }
    let handler = CriuLogHandler(fd: fd, level: logLevel(forVerbosity: verbosity), echoToStderr: true, start: start)
    LoggingSystem.bootstrap { _ in handler }
    return Logger(label: label)
}

/// A failure of the command line itself, reported as one `Error: ` line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
