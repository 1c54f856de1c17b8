// Swift victim with a large heap: 64 arrays of 1 Mi UInt64 (512 MiB) filled with a formula, then each
// round one array is rewritten and every array checked against the formula; prints the round and ok/BAD.
import Glibc

let arrays = 64, count = 1 << 20
func value(_ a: Int, _ i: Int, _ gen: Int) -> UInt64 { UInt64(truncatingIfNeeded: (a &* 1_000_003 &+ i &* 7919 &+ gen) &* 0x9E37_79B9) }
var heap: [[UInt64]] = (0..<arrays).map { a in (0..<count).map { value(a, $0, 0) } }
var gens = [Int](repeating: 0, count: arrays)
var round = 0
while true {
    round += 1
    let a = round % arrays
    gens[a] = round
    for i in 0..<count { heap[a][i] = value(a, i, round) }
    var ok = true
    for b in 0..<arrays where ok {
        for i in stride(from: 0, to: count, by: 1) where heap[b][i] != value(b, i, gens[b]) { ok = false; break }
    }
    print("round \(round) \(ok ? "ok" : "BAD")")
    fflush(stdout)
    if !ok { exit(1) }
    usleep(200_000)
}
