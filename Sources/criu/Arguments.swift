import Glibc

/// CRIU parses its command line with getopt_long: options may stand before the subcommand, `-v`, `-vv` and
/// `-v4` all set the verbosity, and options also come from config files. This turns such a command line into
/// the shape ArgumentParser parses: the subcommand first, then config-file options, then the command line's own
/// (later ones win, so the command line beats the config files).
struct CommandLineRewriter {
    let subcommands: Set<String>
    /// Long and short option names that take a separate value (`-D DIR`), so their value is never taken for the
    /// subcommand.
    let valueOptions: Set<String>
    var environment: [String: String]

    static let defaultVerbosity = 2

    func rewrite(_ args: [String]) throws -> [String] {
        var rest: [String] = []
        var verbosity: Int? = nil
        var subcommand: String? = nil
        var configFile: String? = nil
        var noDefaultConfig = false
        var i = 0
        while i < args.count {
            let a = args[i]
            i += 1
            if let v = try verbosityFlag(a, current: verbosity ?? Self.defaultVerbosity) {
                verbosity = v
                continue
            }
            if a == "--no-default-config" { noDefaultConfig = true; continue }
            if a == "--config" || a.hasPrefix("--config=") {
                if a == "--config" {
                    guard i < args.count else { throw ConfigError.missingValue("--config") }
                    configFile = args[i]; i += 1
                } else {
                    configFile = String(a.dropFirst("--config=".count))
                }
                continue
            }
            if subcommand == nil && !a.hasPrefix("-") && subcommands.contains(a) {
                subcommand = a
                continue
            }
            rest.append(a)
            if valueOptions.contains(a) && i < args.count {
                rest.append(args[i]); i += 1
            }
        }
        var fromConfig: [String] = []
        for path in configPaths(noDefault: noDefaultConfig, explicit: configFile) {
            guard let text = readConfig(path.path) else {
                if path.mustExist { throw ConfigError.unreadable(path.path, errno) }
                continue
            }
            fromConfig += try ConfigFile.parse(text, path: path.path)
        }
        var out: [String] = []
        if let subcommand { out.append(subcommand) }
        out += fromConfig
        if let verbosity { out.append("--verbosity=\(min(max(verbosity, 0), 4))") }
        out += rest
        return out
    }

    /// `-v` adds one, `-vvv` adds three, `-v4` sets 4, `--verbosity=N` / `--verbosity N` set N.
    private func verbosityFlag(_ a: String, current: Int) throws -> Int? {
        guard a.hasPrefix("-v"), !a.hasPrefix("--") else { return nil }
        let tail = a.dropFirst(2)
        if tail.allSatisfy({ $0 == "v" }) { return current + 1 + tail.count }
        guard let n = Int(tail), (0...4).contains(n) else { throw ConfigError.badVerbosity(a) }
        return n
    }

    private func configPaths(noDefault: Bool, explicit: String?) -> [(path: String, mustExist: Bool)] {
        var paths: [(String, Bool)] = []
        if !noDefault {
            paths.append(("/etc/criu/default.conf", false))
            if let home = environment["HOME"] { paths.append(("\(home)/.criu/default.conf", false)) }
        }
        if let env = environment["CRIU_CONFIG_FILE"] { paths.append((env, true)) }
        if let explicit { paths.append((explicit, true)) }
        return paths
    }

    private func readConfig(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// CRIU's config file: one long option per line, `name` or `name value`, with or without leading dashes;
/// `#` starts a comment; a value may be double-quoted.
enum ConfigFile {
    static func parse(_ text: String, path: String) throws -> [String] {
        var out: [String] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            while let last = line.last, last == " " || last == "\t" || last == "\r" { line = line.dropLast() }
            if line.isEmpty { continue }
            let name: Substring
            var value: Substring? = nil
            if let sp = line.firstIndex(where: { $0 == " " || $0 == "\t" }) {
                name = line[..<sp]
                value = line[sp...].drop(while: { $0 == " " || $0 == "\t" })
            } else {
                name = line
            }
            let bare = name.drop(while: { $0 == "-" })
            guard !bare.isEmpty else { throw ConfigError.badLine(path, n + 1, String(raw)) }
            out.append("--\(bare)")
            if var v = value {
                if v.count >= 2, v.first == "\"", v.last == "\"" { v = v.dropFirst().dropLast() }
                out.append(String(v))
            }
        }
        return out
    }
}

enum ConfigError: Error, CustomStringConvertible {
    case unreadable(String, Int32)
    case badLine(String, Int, String)
    case missingValue(String)
    case badVerbosity(String)

    var description: String {
        switch self {
        case .unreadable(let p, let e): return "can't read config file \(p): \(String(cString: strerror(e)))"
        case .badLine(let p, let n, let l): return "\(p):\(n): can't parse config line '\(l)'"
        case .missingValue(let o): return "option \(o) needs a value"
        case .badVerbosity(let a): return "bad verbosity '\(a)': use -v, -vv, ... or -v0 to -v4"
        }
    }
}
