import Testing
import SystemPackage
@testable import Compel

@Test func errorNamesPidOperationAndErrno() {
    let e = CompelError(pid: 42, "PTRACE_SEIZE", errno: .noSuchProcess)
    #expect(e.description.contains("pid 42"))
    #expect(e.description.contains("PTRACE_SEIZE"))
    #expect(e.description.contains("No such process"))
}
