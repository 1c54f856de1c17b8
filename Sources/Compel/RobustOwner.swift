import CSys
import Glibc
import SystemPackage

/// A futex word in memory shared with a task, which the kernel marks FUTEX_OWNER_DIED and wakes when the
/// thread holding it exits, however it exits (SIGKILL included): the word is on that thread's robust futex
/// list. The batch loop sleeps on it between batches, so a tracer that dies wakes it (BatchCode.swift).
///
/// A thread has one robust list; glibc registers its own at thread start, for robust mutexes, which criu
/// never takes. This one replaces it while a word is held and puts it back on release.
final class RobustOwner {
    /// The tracer thread's list head (24 bytes: next, futex_offset, list_op_pending) and its one entry.
    private let head: UnsafeMutableRawPointer
    private let previous: (head: UInt64, length: UInt64)
    let word: UnsafeMutableRawPointer
    /// The thread whose list this is: the only one that can put glibc's list back.
    private let holder = csys_sys_gettid()

    /// The word held now; a tracer holds one at a time (it runs one batch at a time).
    nonisolated(unsafe) private static var current: RobustOwner?

    private init(word: UnsafeMutableRawPointer) throws {
        var h: UInt64 = 0, len: UInt64 = 0
        if csys_sys_get_robust_list(0, &h, &len) < 0 {
            throw CompelError(pid: csys_sys_gettid(), "get_robust_list", errno: Errno(rawValue: errno))
        }
        previous = (h, len)
        head = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        self.word = word
        let entry = head + 24
        head.storeBytes(of: UInt(bitPattern: entry), as: UInt.self)
        head.storeBytes(of: entry.distance(to: word), toByteOffset: 8, as: Int.self)
        head.storeBytes(of: 0, toByteOffset: 16, as: UInt.self)
        entry.storeBytes(of: UInt(bitPattern: head), as: UInt.self)
        if csys_sys_set_robust_list(head, 24) < 0 {
            let e = Errno(rawValue: errno)
            head.deallocate()
            throw CompelError(pid: csys_sys_gettid(), "set_robust_list", errno: e)
        }
    }

    /// Makes the calling thread the owner of `word` (its tid in the word, the word on its robust list).
    static func hold(_ word: UnsafeMutableRawPointer) throws {
        if current?.word != word {
            release()
            current = try RobustOwner(word: word)
        }
        word.storeBytes(of: UInt32(bitPattern: csys_sys_gettid()), as: UInt32.self)
    }

    /// Lets go of `word` if it is held (of any word when nil), so that its memory can go.
    static func release(_ word: UnsafeMutableRawPointer? = nil) {
        guard let c = current, word == nil || c.word == word else { return }
        c.word.storeBytes(of: 0, as: UInt32.self)
        current = nil
        // Another thread cannot put the holder's list back; the head then stays allocated, as the kernel
        // still points at it.
        guard csys_sys_gettid() == c.holder else { return }
        _ = csys_sys_set_robust_list(UnsafeMutableRawPointer(bitPattern: UInt(c.previous.head)), Int(c.previous.length))
        c.head.deallocate()
    }

    /// Lets go of the word held in [start, start + length), if any: that memory is about to go.
    static func release(within start: UnsafeMutableRawPointer, length: Int) {
        guard let w = current?.word, w >= start, w < start + length else { return }
        release(w)
    }
}
