import Testing
import Foundation
@testable import criu

@Suite struct CommandLineRewriterTests {
    func rewriter(_ env: [String: String] = [:]) -> CommandLineRewriter {
        CommandLineRewriter(subcommands: ["check", "dump", "restore"], valueOptions: valueOptions, environment: env)
    }

    @Test func subcommandMovesFirstAndValuesStayWithTheirOptions() throws {
        let out = try rewriter().rewrite(["--no-default-config", "-D", "dump", "restore", "-t", "5"])
        // "dump" is the value of -D here, so "restore" is the subcommand
        #expect(out == ["restore", "-D", "dump", "-t", "5"])
    }

    @Test func verbosityForms() throws {
        #expect(try rewriter().rewrite(["--no-default-config", "-v4", "check"]) == ["check", "--verbosity=4"])
        #expect(try rewriter().rewrite(["--no-default-config", "check", "-v"]) == ["check", "--verbosity=3"])
        #expect(try rewriter().rewrite(["--no-default-config", "check", "-vvvvvv"]) == ["check", "--verbosity=4"])
        #expect(throws: ConfigError.self) { try rewriter().rewrite(["--no-default-config", "check", "-v7"]) }
    }

    @Test func configFileOptionsComeBeforeTheCommandLine() throws {
        let path = NSTemporaryDirectory() + "criu-test-\(getpid()).conf"
        try "# comment\n  images-dir \"/tmp/x y\"  \n--leave-running\nverbosity 4\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let out = try rewriter().rewrite(["dump", "--no-default-config", "--config", path, "-D", "/tmp/z"])
        #expect(out == ["dump", "--images-dir", "/tmp/x y", "--leave-running", "--verbosity", "4", "-D", "/tmp/z"])
    }

    @Test func envConfigMustExistButDefaultsNeedNot() throws {
        #expect(throws: ConfigError.self) {
            try rewriter(["CRIU_CONFIG_FILE": "/nonexistent/criu.conf"]).rewrite(["check"])
        }
        #expect(try rewriter(["HOME": "/nonexistent"]).rewrite(["check"]) == ["check"])
    }

    @Test func configLineWithOnlyDashesIsRejected() {
        #expect(throws: ConfigError.self) { try ConfigFile.parse("--\n", path: "x.conf") }
    }
}
