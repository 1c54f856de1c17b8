import Glibc
import CSys
import Images

/// A pipe whose ends different tasks hold (a shell pipeline). The restorer makes it once, fills its
/// data and hands it to the whole tree across fork (TreeObjects); each task takes its ends from there.
/// The ends keep their sharing: the lowest file id on an end gets the pipe's own description (one
/// description shared by every task holding that file id), any other file on that end a new one.
enum SharedPipe {
    /// Pipe ids whose ends appear in the fd tables of more than one task, with their data.
    static func find(_ tables: [[FdinfoEntry]], files: [UInt32: FileEntry]) -> Set<UInt32> {
        var holders: [UInt32: Int] = [:]
        for table in tables {
            var mine = Set<UInt32>()
            for fd in table { if let f = files[fd.id], f.type == .pipe { mine.insert(f.pipe.pipeID) } }
            for id in mine { holders[id, default: 0] += 1 }
        }
        return Set(holders.filter { $0.value > 1 }.keys)
    }

    /// Makes each pipe in the restorer, sized and filled, its fds kept high (away from restored numbers).
    static func create(_ ids: Set<UInt32>, data: [UInt32: (size: UInt32, data: [UInt8])], floor: Int32) throws -> [UInt32: [Int32]] {
        var out: [UInt32: [Int32]] = [:]
        do {
            for id in ids.sorted() {
                var fds: [Int32] = [-1, -1]
                guard csys_sys_pipe2(&fds, O_CLOEXEC) == 0 else { throw EngineError("pipe2 for pipe \(id)", errno: .init(rawValue: errno)) }
                var high: [Int32] = []
                for fd in fds {
                    let n = csys_fcntl(fd, F_DUPFD_CLOEXEC, Int(floor))
                    close(fd)
                    guard n >= 0 else { high.forEach { close($0) }; throw EngineError("move pipe \(id) fd", errno: .init(rawValue: errno)) }
                    high.append(n)
                }
                out[id] = high
                if let d = data[id] { try PipeData.fill(high[1], size: d.size, data: d.data, what: "pipe \(id)") }
            }
        } catch {
            for fds in out.values { fds.forEach { close($0) } }
            throw error
        }
        return out
    }

    /// A new fd on the end `e` names, from the pipe the tree inherited.
    static func open(_ e: FileEntry, ends: [Int32], context: FileRestoreContext) throws -> Int32 {
        let p = e.pipe
        let end = endOf(e)
        let first = context.images.files.values.filter { $0.type == .pipe && $0.pipe.pipeID == p.pipeID && endOf($0) == end }
            .map(\.id).min()
        let fd = first == e.id
            ? csys_fcntl(ends[end], F_DUPFD_CLOEXEC, 0)
            : csys_open("/proc/self/fd/\(ends[end])", (end == 1 ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC, 0)
        guard fd >= 0 else { throw EngineError("open end \(end) of shared pipe \(p.pipeID)", errno: .init(rawValue: errno)) }
        try FileOwner.restore(fd, p.fown, flags: p.flags)
        return fd
    }

    static func endOf(_ f: FileEntry) -> Int { Int32(bitPattern: f.pipe.flags) & O_ACCMODE == O_WRONLY ? 1 : 0 }
}
