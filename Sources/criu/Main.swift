import ArgumentParser
import Glibc

let criuVersion = "0.1"

@main
struct Criu: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "criu",
        abstract: "Checkpoint/restore in userspace: freeze a process tree, save it to image files, restore it later.",
        subcommands: [Check.self]
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
            var command = try parseAsRoot()
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

/// One line on stderr, written whole.
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}
