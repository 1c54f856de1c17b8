import Glibc
import CSys

/// Shared anonymous memory of a tree: one shmem object per dumped shmid, made here before the tree is
/// forked so every task inherits its fd and maps the same object (it shows as /dev/zero like the original).
enum SharedMemory {
    /// Fds are kept high, away from the numbers restored tasks use.
    static let fdFloor = 600

    static func create(_ sizes: [UInt64: UInt64]) throws -> [UInt64: Int32] {
        var out: [UInt64: Int32] = [:]
        do {
            for (shmid, size) in sizes.sorted(by: { $0.key < $1.key }) {
                out[shmid] = try object(size: size, shmid: shmid)
            }
        } catch {
            for fd in out.values { close(fd) }
            throw error
        }
        return out
    }

    private static func object(size: UInt64, shmid: UInt64) throws -> Int32 {
        guard let p = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw EngineError("mmap shared memory \(shmid)", errno: .init(rawValue: errno))
        }
        defer { munmap(p, Int(size)) }
        let start = UInt(bitPattern: p)
        let path = "/proc/self/map_files/" + String(start, radix: 16) + "-" + String(start + UInt(size), radix: 16)
        let fd = csys_open(path, O_RDWR | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open", path: path, errno: .init(rawValue: errno)) }
        let high = csys_fcntl(fd, F_DUPFD_CLOEXEC, fdFloor)
        close(fd)
        guard high >= 0 else { throw EngineError("move shared memory fd", errno: .init(rawValue: errno)) }
        return high
    }
}
