import Glibc

/// Reads /proc/PID/smaps on a second thread. The kernel walks every present page of the task to print
/// it (5-7 ms for 256 MiB, ~20 ms for 1 GiB), and the dump needs only its VmFlags, late: for mm.img. So
/// the dump starts this once the injection is undone and copies the pages meanwhile.
///
/// The thread (a QuietJob) makes no ptrace call; smaps of a task we hold only needs ptrace read
/// access, which the caller already has.
final class SmapsReader {
    let pid: Int32
    private let job: QuietJob<Result<[SmapsEntry], ProcError>>

    /// Starts the read. When no thread can be started, `finish()` reads in the caller's thread.
    init(pid: Int32) {
        self.pid = pid
        job = QuietJob { Result { () throws(ProcError) in try Smaps.read(pid: pid) } }
    }

    /// Waits for the thread and returns what it read.
    func finish() throws(ProcError) -> [SmapsEntry] {
        guard let result = job.join() else { return try Smaps.read(pid: pid) }
        return try result.get()
    }
}
