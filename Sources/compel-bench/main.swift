// Injected syscalls per second against the same syscall run locally, in one run.
// Usage: compel-bench [iterations]   (default 20000)
// The victim is a child of this process that sleeps in pause(); it is killed at the end.
import CSys
import Compel
import Foundation
import Glibc

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20000 : 20000

let victim = fork()
if victim == 0 {
    while true { pause() }
}
defer { kill(victim, SIGKILL); waitpid(victim, nil, 0) }
usleep(50_000)

func rate(_ n: Int, _ body: () throws -> Void) rethrows -> Double {
    let t0 = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - t0
    let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    return Double(n) / secs
}

do {
    let localN = iterations * 100
    var sink: Int32 = 0
    let local = rate(localN) {
        for _ in 0..<localN { sink &+= getppid() }
    }
    let task = try SeizedTask.seize(victim)
    var check: Int64 = 0
    let injected = try rate(iterations) {
        for _ in 0..<iterations { check = try task.syscall(Int(SYS_getppid)) }
    }
    // The same calls in batches of 64 and of 1, through the batch loop (one round trip per batch).
    let area = try task.createSharedArea(size: 16384, executable: true)
    task.installBatchCode(local: area.local, remote: area.remote)
    let table = BatchTable(local: UnsafeMutableRawBufferPointer(rebasing: area.bytes[1024...]), remote: area.remote + 1024)
    let batch = Array(repeating: RemoteCall(Int(SYS_getppid)), count: 64)
    let batchedN = (iterations / 64) * 64
    var batchOk = true
    let batched = try rate(batchedN) {
        for _ in 0..<(batchedN / 64) { batchOk = try task.runBatch(batch, table: table).allSatisfy { $0 == Int64(getpid()) } && batchOk }
    }
    let single = try rate(iterations / 4) {
        for _ in 0..<(iterations / 4) { batchOk = try task.runBatch([batch[0]], table: table) == [Int64(getpid())] && batchOk }
    }
    try task.cure()
    guard batchOk else {
        print("error: a batched getppid returned something else than \(getpid())")
        exit(1)
    }
    guard check == Int64(getpid()) else {
        print("error: injected getppid returned \(check), expected \(getpid())")
        exit(1)
    }
    print(String(format: "local getppid:    %12.0f calls/s (%d calls)", local, localN))
    print(String(format: "injected getppid: %12.0f calls/s (%d calls into pid %d)", injected, iterations, victim))
    print(String(format: "ratio local/injected: %.0fx (%.2f us per injected call)", local / injected, 1e6 / injected))
    print(String(format: "batched getppid:  %12.0f calls/s (batches of 64: %.2f us per call)", batched, 1e6 / batched))
    print(String(format: "batch of one:     %12.0f batches/s (%.2f us per round trip)", single, 1e6 / single))
    if sink == 42 { print("") }
} catch {
    print("error: \(error)")
    exit(1)
}
