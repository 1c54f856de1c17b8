import Foundation
import Glibc
import Testing
@testable import ZdtmCore

/// The zdtm executable's answers to bad input: one line on stderr, exit 1.
@Suite struct CLITests {
    static var exe: String { SmokeTests.packageRoot + "/.build/debug/zdtm" }

    func zdtm(_ args: String, in dir: String = SmokeTests.packageRoot) throws -> (Proc.Exit, String) {
        try Proc.run(["/bin/sh", "-c", "cd '\(dir)' && exec '\(Self.exe)' \(args)"], timeout: 60)
    }

    @Test(arguments: [
        ("run -t nosuch --nocr", "zdtm: unknown test 'nosuch' (see `zdtm list`)"),
        ("run -a --bogus", "zdtm: Unknown option '--bogus'"),
        ("run -a -f h,xx --nocr", "zdtm: unknown flavor 'xx' (known: h, ns, uns)"),
        ("run -a -k sometimes", "zdtm: -k wants always, never or failed, not 'sometimes'"),
        ("run --nocr", "zdtm: no tests selected: give -a, -t NAME, -T REGEX or -F FILE"),
        ("run -a --nocr --norst", "zdtm: --nocr does not go with C/R mode options"),
        ("show nosuch", "zdtm: unknown test 'nosuch' (see `zdtm list`)"),
    ])
    func badInput(args: String, message: String) throws {
        try #require(access(Self.exe, X_OK) == 0, "swift test builds the zdtm executable first")
        let (ex, out) = try zdtm(args)
        #expect(ex == .code(1))
        #expect(out == message + "\n")
    }

    @Test func malformedDescIsOneLine() throws {
        try #require(access(Self.exe, X_OK) == 0, "swift test builds the zdtm executable first")
        let root = NSTemporaryDirectory() + "zdtm-cli-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/Tests/zdtm/lib", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/Tests/zdtm/static", withIntermediateDirectories: true)
        try "".write(toFile: root + "/Tests/zdtm/lib/zdtmtst.h", atomically: true, encoding: .utf8)
        try "int main(void) { return 0; }\n".write(toFile: root + "/Tests/zdtm/static/bad.c", atomically: true, encoding: .utf8)
        try #"{"flags": ["noauto"], "timeout": -1}"#.write(toFile: root + "/Tests/zdtm/static/bad.desc", atomically: true, encoding: .utf8)
        let (ex, out) = try zdtm("list", in: root)
        #expect(ex == .code(1))
        #expect(out == "zdtm: malformed test description \(root)/Tests/zdtm/static/bad.desc: 'timeout' must be a non-negative integer\n")
    }
}
