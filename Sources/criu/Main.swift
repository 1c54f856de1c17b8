import ArgumentParser
import Glibc

let criuVersion = "0.1"

@main
struct Criu: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "criu",
        abstract: "Checkpoint/restore in userspace: freeze a process tree, save it to image files, restore it later.",
        subcommands: [Check.self, Dump.self, Restore.self]
    )

    @Flag(name: [.customShort("V"), .customLong("version")], help: "Print the version and exit.")
    var version = false

    func run() throws {
        guard version else {
            print(Criu.helpMessage())
            throw ExitCode(1)
        }
        print("Version: \(criuVersion)")
    }

    /// CRIU exits 1 on every failure, usage errors included; ArgumentParser would use 64.
    static func main() {
        do {
            let rewriter = CommandLineRewriter(
                subcommands: ["check", "dump", "pre-dump", "restore", "lazy-pages", "page-server", "service", "swrk",
                              "exec", "show", "cpuinfo"],
                valueOptions: valueOptions,
                environment: environmentDictionary())
            let args = try rewriter.rewrite(Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot(args)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is ExitCode {
                exit(withError: error)
            }
            let first = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            printError(first.hasPrefix("Error: ") ? first : "Error: \(first)")
            Glibc.exit(1)
        }
    }
}

/// Options that take their value as the next word (`-D DIR`), as CRIU's getopt table has them.
let valueOptions: Set<String> = [
    "-D", "--images-dir", "-W", "--work-dir", "-o", "--log-file", "-t", "--tree", "--pidfile", "--status-fd",
    "--timeout", "--feature", "--verbosity", "--ghost-limit", "--external", "--inherit-fd", "--address",
    "--port", "--prev-images-dir", "--root", "--cgroup-root", "--action-script", "-L", "--libdir",
]

func environmentDictionary() -> [String: String] {
    var env: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        p += 1
    }
    return env
}

/// One line on stderr, written whole.
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}
