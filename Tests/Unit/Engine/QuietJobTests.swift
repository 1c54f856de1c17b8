import Glibc
import Synchronization
import Testing
@testable import Engine

@Suite struct QuietJobTests {
    @Test func valueComesBackOnceFromAnotherThread() {
        let caller = pthread_self()
        let job = QuietJob { () -> (Int, Bool) in (42, pthread_equal(pthread_self(), caller) != 0) }
        #expect(job.startError == 0)
        let v = job.join()
        #expect(v?.0 == 42)
        #expect(v?.1 == false)
        #expect(job.join() == nil)
    }

    @Test func jobRunsWithEverySignalBlocked() {
        let job = QuietJob { () -> Bool in
            var mask = sigset_t()
            pthread_sigmask(SIG_SETMASK, nil, &mask)
            return sigismember(&mask, SIGCHLD) == 1 && sigismember(&mask, SIGTERM) == 1
        }
        #expect(job.join() == true)
    }

    @Test func droppingTheJobWaitsForIt() {
        let done = Atomic<Bool>(false)
        do {
            _ = QuietJob { () -> Void in
                usleep(20_000)
                done.store(true, ordering: .relaxed)
            }
        }
        let finished = done.load(ordering: .relaxed)
        #expect(finished)
    }

    @Test func copyWorkersFollowCriusCPUs() {
        #expect(PagesWriter.workers(cpus: [0b1011]) == 3)
        #expect(PagesWriter.workers(cpus: [0, 0b1]) == 1)
        #expect(PagesWriter.workers(cpus: [UInt64.max]) == 4)
        #expect(PagesWriter.workers(cpus: [0]) == 1)
        #expect(PagesWriter.workers(cpus: nil) == min(max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1), 4))
    }
}
