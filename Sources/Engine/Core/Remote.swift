import Glibc
import Compel
import SystemPackage

/// Syscalls run inside a seized task, with a shared area for what they read and write.
struct Remote {
    let task: SeizedTask
    let area: SharedArea

    var pid: Int32 { task.pid }

    /// Address in the task of byte `offset` of the shared area.
    func addr(_ offset: Int = 0) -> UInt64 { area.remote + UInt64(offset) }

    /// Runs a syscall; a negative result becomes an error naming `op` and the errno.
    @discardableResult
    func call(_ op: String, _ nr: Int32, _ args: UInt64...) throws -> Int64 {
        let r = try task.syscall(Int(nr), args: args)
        if r < 0 && r >= -4095 {
            throw EngineError("injected \(op)", pid: pid, errno: Errno(rawValue: Int32(-r)))
        }
        return r
    }

    /// Runs a syscall and returns the raw result, a negative errno included.
    func raw(_ nr: Int32, _ args: UInt64...) throws -> Int64 {
        try task.syscall(Int(nr), args: args)
    }

    func load<T>(_: T.Type, at offset: Int) -> T {
        area.bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    func store<T>(_ value: T, at offset: Int) {
        area.bytes.storeBytes(of: value, toByteOffset: offset, as: T.self)
    }

    func bytes(at offset: Int, count: Int) -> [UInt8] {
        Array(area.bytes[offset..<(offset + count)])
    }

    func storeBytes(_ b: [UInt8], at offset: Int) {
        for (i, v) in b.enumerated() { area.bytes[offset + i] = v }
    }

    func zero(_ count: Int, at offset: Int = 0) {
        for i in offset..<(offset + count) { area.bytes[i] = 0 }
    }
}
