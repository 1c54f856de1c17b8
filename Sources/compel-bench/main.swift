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
    try task.cure()
    guard check == Int64(getpid()) else {
        print("error: injected getppid returned \(check), expected \(getpid())")
        exit(1)
    }
    print(String(format: "local getppid:    %12.0f calls/s (%d calls)", local, localN))
    print(String(format: "injected getppid: %12.0f calls/s (%d calls into pid %d)", injected, iterations, victim))
    print(String(format: "ratio local/injected: %.0fx (%.2f us per injected call)", local / injected, 1e6 / injected))
    if sink == 42 { print("") }
} catch {
    print("error: \(error)")
    exit(1)
}
