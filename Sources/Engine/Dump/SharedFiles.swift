import Glibc
import CSys
import Images

/// Every open file description seen so far in the tree, so each is written to files.img once: fds of
/// any task that refer to one description (dup, F_DUPFD, inherited across fork) get one id. kcmp(KCMP_FILE)
/// both compares and *orders* files, across processes too, so per (dev, inode) the files seen are kept
/// sorted and searched by bisection: every eventfd, timerfd, signalfd and epoll shares the one anon
/// inode, and a linear scan would make the dump quadratic in the fd count.
final class SharedFiles {
    private static let kcmpFile: Int32 = 0
    struct Known {
        let pid: Int32
        let fd: Int32
        let id: UInt32
        let type: FdTypes
    }
    private var buckets: [String: [Known]] = [:]

    /// The description `fd` of `pid` refers to, if a fd seen before (in any task) holds it; else nil and
    /// where `add` puts it.
    func find(pid: Int32, fd: Int32, dev: UInt64, ino: UInt64) throws -> (Known?, Int) {
        let bucket = buckets["\(dev):\(ino)"] ?? []
        var lo = 0, hi = bucket.count
        while lo < hi {
            let mid = (lo + hi) / 2
            switch csys_sys_kcmp(pid, bucket[mid].pid, Self.kcmpFile, UInt(fd), UInt(bucket[mid].fd)) {
            case 0: return (bucket[mid], mid)
            case 1: hi = mid
            case 2: lo = mid + 1
            default: throw EngineError("kcmp with pid \(bucket[mid].pid) fd \(bucket[mid].fd)", pid: pid, fd: fd,
                                       errno: .init(rawValue: errno))
            }
        }
        return (nil, lo)
    }

    func add(_ k: Known, dev: UInt64, ino: UInt64, at: Int) {
        buckets["\(dev):\(ino)", default: []].insert(k, at: at)
    }
}
