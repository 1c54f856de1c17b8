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

    init(task: SeizedTask, area: SharedArea) {
        self.init(task: task, local: area.bytes, remoteBase: area.remote)
    }

    init(task: SeizedTask, local: UnsafeMutableRawBufferPointer, remoteBase: UInt64, thread: SeizedThread? = nil) {
        self.task = task
        self.local = local
        self.remoteBase = remoteBase
        self.thread = thread
    }

    /// The same shared memory, with syscalls run in another thread of the task.
    func inThread(_ t: SeizedThread) -> Remote {
        Remote(task: task, local: local, remoteBase: remoteBase, thread: t)
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
