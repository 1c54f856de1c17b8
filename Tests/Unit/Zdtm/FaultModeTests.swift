import Foundation
import Glibc
import Testing
@testable import ZdtmCore

/// `--fault N` against stand-in criu binaries: the runner must pass a dump or restore that fails cleanly and
/// fail one that succeeds anyway or leaves files behind. (The real criu's fault steps run with
/// `zdtm run --fault N`; see docs/benchmarks.md.)
@Suite(.serialized) struct FaultModeTests {
    func mode(_ f: Int) -> Mode {
        var m = Mode()
        m.fault = f
        return m
    }

    @Test func cleanDumpFailurePasses() throws {
        let (criu, log) = try CRFlowTests.fakeCriu(dump: "echo \"Error: CRIU_FAULT=$CRIU_FAULT\" >> $dir/dump.log; exit 1")
        defer { unlink(criu); unlink(log) }
        let o = try CRFlowTests().run("env00", criu: criu, mode: mode(3))
        #expect(o.verdict == .pass, "\(o.reason)")
    }

    @Test func dumpFailureThatLeavesImagesFails() throws {
        let (criu, log) = try CRFlowTests.fakeCriu(dump: "touch $dir/pages-1.img; exit 1")
        defer { unlink(criu); unlink(log) }
        let o = try CRFlowTests().run("env00", criu: criu, mode: mode(3))
        #expect(o.verdict == .fail)
        #expect(o.reason == "CRIU_FAULT=3: the failed dump left pages-1.img", "\(o.reason)")
    }

    @Test func dumpThatSucceedsDespiteTheFaultFails() throws {
        let (criu, log) = try CRFlowTests.fakeCriu(dump: "exit 0")
        defer { unlink(criu); unlink(log) }
        let o = try CRFlowTests().run("env00", criu: criu, mode: mode(1))
        #expect(o.verdict == .fail)
        #expect(o.reason == "CRIU_FAULT=1: criu dump succeeded but must fail", "\(o.reason)")
    }

    /// The faulted restore fails cleanly, so the runner goes on to the plain restore (which this stand-in
    /// cannot do): the run fails there, not at the fault checks; without the fault the dump ran unfaulted.
    @Test func cleanRestoreFailureGoesOnToTheRealRestore() throws {
        let (criu, log) = try CRFlowTests.fakeCriu(dump: "[ -z \"$CRIU_FAULT\" ] || exit 1; kill -9 $pid; exit 0")
        defer { unlink(criu); unlink(log) }
        let o = try CRFlowTests().run("env00", criu: criu, mode: mode(103))
        #expect(o.verdict == .fail)
        #expect(o.reason == "criu restore failed (exit 1)", "\(o.reason)")
        let restores = (Proc.read(log) ?? "").split(separator: "\n").filter { $0.hasPrefix("restore") }
        #expect(restores.count == 2)
        #expect(restores.first?.contains("restore-fault.log") == true)
    }

    @Test func restoreFailureThatLeavesAFileFails() throws {
        let (criu, log) = try CRFlowTests.fakeCriu(dump: "kill -9 $pid; exit 0", restore: "touch $dir/junk.img; exit 1")
        defer { unlink(criu); unlink(log) }
        let o = try CRFlowTests().run("env00", criu: criu, mode: mode(101))
        #expect(o.verdict == .fail)
        #expect(o.reason == "CRIU_FAULT=101: the failed restore left junk.img", "\(o.reason)")
    }
}
