import Foundation
import Testing
@testable import ZdtmCore

@Suite struct SelectionTests {
    static func tc(_ name: String, _ flags: Set<TestDesc.Flag> = []) -> TestCase {
        var d = TestDesc()
        d.flags = flags
        return TestCase(name: name, source: "/x/\(name).c", desc: d)
    }
    let catalog = Catalog(root: "/x", tests: [
        tc("static/env00"), tc("static/pipe00"), tc("static/pipe01"), tc("static/broken00", [.noauto]),
        tc("transition/fork_loop00"), tc("transition/pipe00"),
    ])

    func names(_ s: Selection) throws -> [String] { try s.resolve(catalog).map(\.name) }

    @Test func allSkipsNoauto() throws {
        #expect(try names(Selection(all: true)) == ["static/env00", "static/pipe00", "static/pipe01", "transition/fork_loop00", "transition/pipe00"])
    }

    @Test func namedTestsIncludeNoautoAndAcceptShortForms() throws {
        #expect(try names(Selection(names: ["broken00", "zdtm/static/env00", "static/pipe01.c"])) == ["static/broken00", "static/env00", "static/pipe01"])
    }

    @Test func ambiguousAndUnknownNames() {
        #expect(throws: ZdtmError.unknownTest("nosuch")) { try names(Selection(names: ["nosuch"])) }
        #expect { try names(Selection(names: ["pipe00"])) } throws: { "\($0)".contains("ambiguous") }
    }

    @Test func regexAndExclude() throws {
        #expect(try names(Selection(regex: "pipe")) == ["static/pipe00", "static/pipe01", "transition/pipe00"])
        #expect(try names(Selection(regex: "pipe", exclude: ["^transition/", "01$"])) == ["static/pipe00"])
        #expect(try names(Selection(all: true, exclude: ["static"])) == ["transition/fork_loop00", "transition/pipe00"])
        #expect(throws: ZdtmError.self) { try names(Selection(regex: "(")) }
    }

    @Test func listFile() throws {
        let path = NSTemporaryDirectory() + "zdtm-list-\(getpid())"
        try "# comment\nenv00\n\n  static/broken00  \nenv00\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try names(Selection(listFile: path)) == ["static/env00", "static/broken00"])
        #expect(throws: ZdtmError.self) { try names(Selection(listFile: path + ".missing")) }
    }

    @Test func nothingSelectedIsAnError() {
        #expect(throws: ZdtmError.self) { try names(Selection()) }
    }

    @Test func realCatalogLoads() throws {
        let c = try Catalog(zdtmDir: SmokeTests.zdtmDir)
        let env = try c.lookup("env00")
        #expect(env.isStatic)
        #expect(try c.lookup("broken00").desc.flags.contains(.noauto))
        #expect(c.tests.count >= 30)
    }
}
