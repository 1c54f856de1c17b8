import Glibc
import Compel
import SystemPackage

/// Syscalls run inside a seized task, with memory mapped both here and there for what they read and write.
struct Remote {
    let task: SeizedTask
    /// Our view of the shared memory.
    let local: UnsafeMutableRawBufferPointer
    /// Where the same memory is in the task.
    let remoteBase: UInt64
    /// The thread the syscalls run in (nil: the main thread).
    let thread: SeizedThread?
    /// Where batches go (Compel's runBatch); nil: every call of a batch is its own round trip.
    var table: BatchTable?

    /// Bytes of a shared area for `init(task:area:)`: a page of scratch, then the batch loop and its table.
    static let areaSize = 16 * 1024
    static let scratchSize = 4096

    /// Over a shared area of `areaSize` bytes mapped executable in the task: the first page is the scratch
    /// memory, the batch loop goes right after it, its table after that.
    init(task: SeizedTask, area: SharedArea) {
        let codeAt = Self.scratchSize, tableAt = Self.scratchSize + 256
        task.installBatchCode(local: area.local + codeAt, remote: area.remote + UInt64(codeAt))
        let table = BatchTable(local: UnsafeMutableRawBufferPointer(rebasing: area.bytes[tableAt..<area.size]),
                               remote: area.remote + UInt64(tableAt))
        self.init(task: task, local: UnsafeMutableRawBufferPointer(rebasing: area.bytes[0..<Self.scratchSize]),
                  remoteBase: area.remote, table: table)
    }

    init(task: SeizedTask, local: UnsafeMutableRawBufferPointer, remoteBase: UInt64, thread: SeizedThread? = nil,
         table: BatchTable? = nil) {
        self.task = task
        self.local = local
        self.remoteBase = remoteBase
        self.thread = thread
        self.table = table
    }

    /// The same shared memory, with syscalls run in another thread of the task.
    func inThread(_ t: SeizedThread) -> Remote {
        Remote(task: task, local: local, remoteBase: remoteBase, thread: t, table: table)
    }

    var pid: Int32 { task.pid }
    var tid: Int32 { thread?.tid ?? task.pid }

    /// Address in the task of byte `offset` of the shared memory.
    func addr(_ offset: Int = 0) -> UInt64 { remoteBase + UInt64(offset) }

    /// Runs a syscall; a negative result becomes an error naming `op` and the errno.
    @discardableResult
    func call(_ op: String, _ nr: Int32, _ args: UInt64...) throws -> Int64 {
        let r = try task.syscall(Int(nr), args: args, in: thread)
        if r < 0 && r >= -4095 {
            throw EngineError("injected \(op)", pid: tid, errno: Errno(rawValue: Int32(-r)))
        }
        return r
    }

    /// Runs syscalls in order, in one round trip when there is a batch table. The first failure becomes an
    /// error naming its `op` and errno, and nothing after it runs. Returns every result.
    @discardableResult
    func callAll(_ calls: [(op: String, call: RemoteCall)]) throws -> [Int64] {
        guard !calls.isEmpty else { return [] }
        var out: [Int64] = []
        if let table {
            out = try task.runBatch(calls.map(\.call), table: table, stopAtFirstError: true, in: thread)
        } else {
            for c in calls {
                out.append(try task.syscall(c.call.number, args: c.call.args, in: thread))
                if Self.isErrno(out.last!) { break }
            }
        }
        if let last = out.last, Self.isErrno(last) {
            throw EngineError("injected \(calls[out.count - 1].op)", pid: tid, errno: Errno(rawValue: Int32(-last)))
        }
        return out
    }

    static func isErrno(_ r: Int64) -> Bool { r < 0 && r >= -4095 }

    /// Runs a syscall and returns the raw result, a negative errno included.
    func raw(_ nr: Int32, _ args: UInt64...) throws -> Int64 {
        try task.syscall(Int(nr), args: args, in: thread)
    }

    func load<T>(_: T.Type, at offset: Int) -> T {
        local.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    func store<T>(_ value: T, at offset: Int) {
        local.storeBytes(of: value, toByteOffset: offset, as: T.self)
    }

    func bytes(at offset: Int, count: Int) -> [UInt8] {
        Array(local[offset..<(offset + count)])
    }

    func storeBytes(_ b: [UInt8], at offset: Int) {
        for (i, v) in b.enumerated() { local[offset + i] = v }
    }

    func zero(_ count: Int, at offset: Int = 0) {
        for i in offset..<(offset + count) { local[i] = 0 }
    }
}
