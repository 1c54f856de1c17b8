import Foundation
import Testing
@testable import ZdtmCore

@Suite struct DescTests {
    func parse(_ s: String) throws -> TestDesc { try TestDesc.parse(Data(s.utf8), file: "t.desc") }

    @Test func emptyObjectGivesDefaults() throws {
        let d = try parse("{}")
        #expect(d.flavors == [.h, .ns, .uns])
        #expect(d.flags.isEmpty)
        #expect(d.timeout == 30)
        #expect(d.features.isEmpty && d.opts.isEmpty)
    }

    @Test func fullDescription() throws {
        let d = try parse(#"{"flavors": ["h", "ns"], "flags": ["suid", "excl", "crfail"], "feature": ["mnt_id", "tcp_half_closed"], "opts": "--tcp-established --ext-unix-sk", "timeout": 90, "pause": 10}"#)
        #expect(d.flavors == [.h, .ns])
        #expect(d.flags == [.suid, .excl, .crfail])
        #expect(d.features == ["mnt_id", "tcp_half_closed"])
        #expect(d.opts == ["--tcp-established", "--ext-unix-sk"])
        #expect(d.timeout == 90 && d.pause == 10)
    }

    @Test(arguments: [
        (#"{"flavour": ["h"]}"#, "unknown key 'flavour'"),
        (#"{"flags": ["sudo"]}"#, "unknown flag 'sudo'"),
        (#"{"flavors": ["host"]}"#, "unknown flavor 'host'"),
        (#"{"flavors": []}"#, "'flavors' is empty"),
        (#"{"timeout": true}"#, "'timeout' must be"),
        (#"{"timeout": "10"}"#, "'timeout' must be"),
        (#"{"timeout": 0}"#, "'timeout' must be positive"),
        (#"{"flags": [1]}"#, "'flags' must be a list of strings"),
        (#"["h"]"#, "top level must be a JSON object"),
        (#"{"flavors": "#, "not valid JSON"),
    ])
    func malformed(text: String, why: String) {
        #expect {
            _ = try parse(text)
        } throws: { error in
            let s = "\(error)"
            return s.contains(why) && s.contains("t.desc")
        }
    }

    @Test func flavorList() throws {
        #expect(try Flavor.parseList("h,ns,uns") == [.h, .ns, .uns])
        #expect(throws: ZdtmError.self) { try Flavor.parseList("h,xx") }
    }
}
