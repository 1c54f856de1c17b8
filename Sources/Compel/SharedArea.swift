import CSys
import Glibc
import SystemPackage

/// Memory mapped both here and in the task: one memfd, two mappings of the same pages. Arguments and
/// results pass through it without copies.
public final class SharedArea {
    /// Our mapping.
    public let local: UnsafeMutableRawPointer
    /// The same pages in the task's address space.
    public let remote: UInt64
    public let size: Int

    init(local: UnsafeMutableRawPointer, remote: UInt64, size: Int) {
        self.local = local
        self.remote = remote
        self.size = size
    }

    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: local, count: size) }
}

let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))

func pageAlign(_ n: UInt64) -> UInt64 { (n + pageSize - 1) & ~(pageSize - 1) }

extension SeizedTask {
    /// Runs a syscall and turns a negative result into a CompelError naming it.
    @discardableResult
    func checkedSyscall(_ op: String, _ nr: Int, _ args: UInt64..., in t: SeizedThread? = nil) throws -> UInt64 {
        let r = try syscall(nr, args: args, in: t)
        if r < 0 && r >= -4095 {
            throw CompelError(pid: (t ?? mainThread).tid, "injected \(op)", errno: Errno(rawValue: Int32(-r)))
        }
        return UInt64(bitPattern: r)
    }

    /// Maps anonymous private memory in the task (at `address` exactly, when given and free); cure unmaps it.
    public func mapRemote(length: Int, protection: Int32 = PROT_READ | PROT_WRITE, at address: UInt64? = nil) throws -> UInt64 {
        let len = pageAlign(UInt64(length))
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | (address != nil ? CSYS_MAP_FIXED_NOREPLACE : 0)
        let addr = try checkedSyscall("mmap", Int(SYS_mmap), address ?? 0, len, UInt64(protection), UInt64(flags), UInt64.max, 0)
        addedMappings.append((addr, len))
        return addr
    }

    /// Unmaps memory that `mapRemote` added.
    public func unmapRemote(_ addr: UInt64) throws {
        guard let i = addedMappings.firstIndex(where: { $0.addr == addr }) else { return }
        let m = addedMappings.remove(at: i)
        try checkedSyscall("munmap", Int(SYS_munmap), m.addr, m.length)
    }

    /// Creates a shared area of at least `size` bytes. The memfd is created inside the task (so it works for
    /// a task of another user, which could not open our fds), mapped over a scratch mapping there, opened here
    /// through /proc/PID/fd and mapped; the task's descriptor is closed again right away. `executable` maps
    /// it executable in the task too, for code we write here (the batch loop).
    public func createSharedArea(size: Int, executable: Bool = false) throws -> SharedArea {
        let len = pageAlign(UInt64(max(size, 1)))
        let addr = try mapArea(length: len)
        try writeMemory(at: addr, bytes: Array("compel-shared".utf8) + [0])
        let fd = try createMemfd(name: addr, scratch: addr)
        onInjection?(.memfdOpen)
        defer { _ = try? syscall(Int(SYS_close), fd) }
        try checkedSyscall("ftruncate", Int(SYS_ftruncate), fd, len)
        let prot = PROT_READ | PROT_WRITE | (executable ? PROT_EXEC : 0)
        try checkedSyscall("mmap memfd", Int(SYS_mmap), addr, len, UInt64(prot), UInt64(MAP_SHARED | MAP_FIXED),
                           fd, 0)
        let path = "/proc/\(pid)/fd/\(fd)"
        let lfd = csys_open(path, O_RDWR | O_CLOEXEC, 0)
        if lfd < 0 { throw CompelError(pid: pid, "open \(path)", errno: Errno(rawValue: errno)) }
        defer { close(lfd) }
        guard let p = mmap(nil, Int(len), PROT_READ | PROT_WRITE, MAP_SHARED, lfd, 0), p != MAP_FAILED else {
            throw CompelError(pid: pid, "mmap \(path) here", errno: Errno(rawValue: errno))
        }
        let area = SharedArea(local: p, remote: addr, size: Int(len))
        sharedAreas.append(area)
        return area
    }

    /// The scratch mapping a shared area starts as. With a way back, its unmap is on the way back before the
    /// mmap runs, so a criu dying inside the mmap leaves nothing; the address is then the middle of the
    /// task's largest gap, far from where its heap grows or its own next mmap goes (those could otherwise
    /// take the range between the death and the unmap).
    private func mapArea(length: UInt64) throws -> UInt64 {
        guard healPath() != nil else { return try mapRemote(length: Int(length)) }
        let hint = healAreaAddress(length: length)
        let rwx = PROT_READ | PROT_WRITE | PROT_EXEC  // it holds createMemfd's stub
        if let hint {
            healUnmap = (hint, length)
            try healStepsChanged()
        }
        var addr: UInt64
        do {
            addr = try mapRemote(length: Int(length), protection: rwx, at: hint)
        } catch let e as CompelError where hint != nil && e.errno == .fileExists {
            healUnmap = nil
            try healStepsChanged()
            addr = try mapRemote(length: Int(length), protection: rwx)
        } catch {
            healUnmap = nil
            try? healStepsChanged()
            throw error
        }
        if healUnmap?.addr != addr {
            healUnmap = (addr, length)
            try healStepsChanged()
        }
        return addr
    }

    /// memfd_create in the task. With a way back, the call returns, should criu die before it has written
    /// the descriptor's close into the way back, into a stub in the (executable) scratch mapping that
    /// closes the descriptor (rax, which the vdso epilogue keeps) and then takes the way back.
    private func createMemfd(name: UInt64, scratch: UInt64) throws -> UInt64 {
        let t = mainThread
        guard let path = healPath(), let way = healStack(t), healOwner === t else {
            let fd = try checkedSyscall("memfd_create", Int(SYS_memfd_create), name, UInt64(CSYS_MFD_CLOEXEC))
            if healPath() != nil {
                healClose = fd
                try healStepsChanged()
            }
            return fd
        }
        let stub = scratch + 128, ret = scratch + 64
        func le(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        let code: [UInt8] = [0x48, 0x89, 0xc7,                    // mov %rax, %rdi   ; the descriptor
                             0xb8, 0x03, 0x00, 0x00, 0x00]        // mov $3, %eax     ; close
            + [0x48, 0xbd] + le(way)                              // movabs $way, %rbp
            + [0x48, 0x89, 0xec]                                  // mov %rbp, %rsp
            + [0x49, 0xbb] + le(path.site)                        // movabs $site, %r11
            + [0x41, 0xff, 0xe3]                                  // jmp *%r11        ; syscall, epilogue, restorer
        // The epilogue's ret takes [rsp] or [rsp+8] (after a leave): the stub's address in both.
        try writeMemory(at: ret, bytes: le(stub) + le(stub))
        try writeMemory(at: stub, bytes: code)
        let r = try syscall(Int(SYS_memfd_create), args: [name, UInt64(CSYS_MFD_CLOEXEC)], in: t, returningTo: ret)
        if r < 0 && r >= -4095 {
            try setRegisters(tid: t.tid, parkRegisters(t))
            throw CompelError(pid: t.tid, "injected memfd_create", errno: Errno(rawValue: Int32(-r)))
        }
        // The close into the inactive frames, then the thread from the stub's path onto them: one move.
        healClose = UInt64(r)
        try healStepsChanged()
        try setRegisters(tid: t.tid, parkRegisters(t))
        return UInt64(r)
    }

    /// Unmaps a shared area on both sides (cure does this for every area left).
    public func destroySharedArea(_ area: SharedArea) throws {
        guard let i = sharedAreas.firstIndex(where: { $0 === area }) else { return }
        sharedAreas.remove(at: i)
        if let c = batchCode, c >= area.remote && c < area.remote + UInt64(area.size) { batchCode = nil }
        RobustOwner.release(within: area.local, length: area.size)
        munmap(area.local, area.size)
        try unmapRemote(area.remote)
    }
}
