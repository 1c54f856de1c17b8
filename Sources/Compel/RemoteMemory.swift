import CSys
import Glibc
import SystemPackage

extension SeizedTask {
    /// /proc/PID/mem, opened once: it reaches pages process_vm_readv/writev refuse (PROT_NONE, read-only text),
    /// because the kernel accesses them with FOLL_FORCE on behalf of the tracer.
    func procMem() throws -> Int32 {
        if memFd >= 0 { return memFd }
        let fd = csys_open("/proc/\(pid)/mem", O_RDWR | O_CLOEXEC, 0)
        if fd < 0 { throw CompelError(pid: pid, "open /proc/\(pid)/mem", errno: Errno(rawValue: errno)) }
        memFd = fd
        return fd
    }

    /// Reads `count` bytes at `address` of the task.
    public func readMemory(at address: UInt64, count: Int) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: count)
        try buf.withUnsafeMutableBytes { try readMemory(at: address, into: $0) }
        return buf
    }

    public func readMemory(at address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        var local = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        var remote = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(address)), iov_len: buffer.count)
        var done = csys_sys_process_vm_readv(pid, &local, 1, &remote, 1)
        if done < 0 { done = 0 }
        if done == buffer.count { return }
        let fd = try procMem()
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(Int64(bitPattern: address + UInt64(done))))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                throw CompelError(pid: pid, "read memory at 0x\(String(address + UInt64(done), radix: 16))",
                                  errno: n < 0 ? Errno(rawValue: errno) : .badAddress)
            }
            done += n
        }
    }

    /// Writes `bytes` at `address` of the task, even into pages it cannot write itself.
    public func writeMemory(at address: UInt64, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeMemory(at: address, from: $0) }
    }

    public func writeMemory(at address: UInt64, from buffer: UnsafeRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        var local = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), iov_len: buffer.count)
        var remote = iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(address)), iov_len: buffer.count)
        var done = csys_sys_process_vm_writev(pid, &local, 1, &remote, 1)
        if done < 0 { done = 0 }
        if done == buffer.count { return }
        let fd = try procMem()
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(Int64(bitPattern: address + UInt64(done))))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                throw CompelError(pid: pid, "write memory at 0x\(String(address + UInt64(done), radix: 16))",
                                  errno: n < 0 ? Errno(rawValue: errno) : .badAddress)
            }
            done += n
        }
    }
}
