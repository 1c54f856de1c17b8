import ArgumentParser

/// Options every CRIU subcommand accepts.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("verbosity"), help: "Log level: 0 fatal only, 1 errors, 2 warnings (default), 3 info, 4 debug. Also -v, -vv, -v4.")
    var verbosity: Int = CommandLineRewriter.defaultVerbosity

    @Option(name: [.customShort("o"), .customLong("log-file")], help: "Log file; relative to the work directory; '-' for stderr.")
    var logFile: String?

    @Option(name: [.customShort("D"), .customLong("images-dir")], help: "Directory of the image files.")
    var imagesDir: String = "."

    @Option(name: [.customShort("W"), .customLong("work-dir")], help: "Directory for logs and pidfiles (default: the images directory).")
    var workDir: String?

    @Flag(name: .customLong("no-default-config"), help: "Read no default config file.")
    var noDefaultConfig = false

    @Option(name: .customLong("config"), help: "Read options from this config file.")
    var config: String?

    var effectiveWorkDir: String { workDir ?? imagesDir }

    func validate() throws {
        guard (0...4).contains(verbosity) else { throw ValidationError("verbosity must be 0 to 4, not \(verbosity)") }
    }
}
