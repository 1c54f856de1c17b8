import Foundation
import Glibc

/// Roots of the test trees running now, so an interrupted run leaves no test behind (they would wait
/// for SIGTERM forever).
final class ActiveTests: @unchecked Sendable {
    static let shared = ActiveTests()
    private let lock = NSLock()
    private var roots: [Int: pid_t] = [:]

    func set(_ slot: Int, _ pid: pid_t?) {
        lock.lock()
        roots[slot] = pid
        lock.unlock()
    }

    /// Kills the registered trees and every other descendant: as a child subreaper the runner adopts
    /// each daemonized test, so its own subtree holds all of them, even those not yet registered.
    func killAll() {
        lock.lock()
        let all = Array(roots.values)
        lock.unlock()
        for r in all { Proc.killTree(r) }
        let me = getpid()
        for p in Proc.tree(me) where p != me { kill(p, SIGKILL) }
    }
}

public enum Leftovers {
    /// Kills what is still below the runner once a run is over (a test that outlived its cleanup would
    /// otherwise wait for SIGTERM forever under init) and returns the pids it found.
    public static func killAll() -> [Int32] {
        Proc.reapStrays()
        let me = getpid()
        let left = Proc.tree(me).filter { $0 != me && Proc.exists($0) }
        for p in left { kill(p, SIGKILL) }
        for p in left { _ = Proc.waitGone(p, timeout: 2) }
        return left
    }
}

public enum Interrupt {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    /// On SIGINT/SIGTERM: kill every running test tree, then exit 1.
    public static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler {
                ActiveTests.shared.killAll()
                FileHandle.standardError.write(Data("zdtm: interrupted, running tests killed\n".utf8))
                exit(1)
            }
            src.resume()
            sources.append(src)
        }
    }
}
