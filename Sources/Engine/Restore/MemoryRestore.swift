import Glibc
import CSys
import Compel
import Images

/// Rebuilds a task's address space from outside, by syscalls run through the trampoline: unmap all that
/// the forked child had, map the vdso where it was, recreate every VMA, read its pages from the pages
/// image straight into place, then set the mm fields.
struct MemoryRestore {
    let r: Remote
    let images: ImageSet
    let report: ChildReport
    let faults: Faults

    static let taskSize: UInt64 = 0x7fff_ffff_f000
    static let page: UInt64 = 4096
    /// The restorer's area in the child: the trampoline page (its `syscall` and the batch loop), then room
    /// for IOV_MAX (1024) iovecs, so that one injected preadv fills up to 1024 runs of a sparse pages image
    /// (one page held 240), then three pages for the batch table (182 calls per round trip).
    static let areaSize: UInt64 = 8 * page
    /// Where the batch loop and its table are in the area.
    static let batchCodeOffset = 16
    static let batchTableOffset = 5 * Int(page)
    /// iovecs per preadv (the kernel's UIO_MAXIOV).
    static let maxIovecs = 1024
    private let mapFixed: UInt64 = 0x10, mapLocked: UInt32 = 0x2000
    private let madvDontneed: UInt64 = 4

    func run() throws -> UInt64 {
        try r.callAll(try unregisterRseq() + unmapAll() + mapVdso())
        try checkVdso()
        let withPages = try mapVmas()
        try faults.check(.restoreMidMemory)
        let restored = try fillPages()
        try finishVmas(withPages)
        try setMmFields()
        try r.callAll(([report.pagesFd, report.exeFd] + Array(report.mappedFds.values) + Array(report.shmemFds.values)).map {
            ("close(\($0))", RemoteCall(Int(SYS_close), UInt64($0)))
        })
        return restored
    }

    /// glibc registered rseq in the child; the kernel writes that area on every return to user space, so
    /// it must go before the memory under it does.
    /// These first calls run in one batch: the loop and its table live in the restorer's area, which
    /// stays, and use no stack.
    private typealias Call = (op: String, call: RemoteCall)

    private func unregisterRseq() throws -> [Call] {
        var conf = csys_rseq_configuration()
        let n = csys_ptrace(Int(CSYS_PTRACE_GET_RSEQ_CONFIGURATION), r.pid,
                            UnsafeMutableRawPointer(bitPattern: MemoryLayout<csys_rseq_configuration>.size), &conf)
        if n < 0 { throw EngineError("PTRACE_GET_RSEQ_CONFIGURATION", pid: r.pid, errno: .init(rawValue: errno)) }
        guard conf.rseq_abi_pointer != 0 else { return [] }
        return [("rseq unregister", RemoteCall(Int(SYS_rseq), conf.rseq_abi_pointer, UInt64(conf.rseq_abi_size),
                                              UInt64(CSYS_RSEQ_FLAG_UNREGISTER), UInt64(conf.signature)))]
    }

    private func unmapAll() -> [Call] {
        let t = report.trampoline
        return [("munmap below trampoline", RemoteCall(Int(SYS_munmap), 0, t)),
                ("munmap above trampoline", RemoteCall(Int(SYS_munmap), t + Self.areaSize, Self.taskSize - t - Self.areaSize))]
    }

    private var vdsoBlock: VmaEntry? {
        images.mm.vmas.first(where: { $0.status & (VmaStatus.vdso | VmaStatus.vvar) != 0 })
    }

    private func mapVdso() -> [Call] {
        // ARCH_MAP_VDSO_64 takes where the whole block starts: the vvar pages come first.
        guard let first = vdsoBlock else { return [] }
        return [("arch_prctl(ARCH_MAP_VDSO_64, \(hex(first.start)))",
                 RemoteCall(Int(SYS_arch_prctl), UInt64(CSYS_ARCH_MAP_VDSO_64), first.start))]
    }

    private func checkVdso() throws {
        guard vdsoBlock != nil else { return }
        let maps = try Maps.read(pid: r.pid)
        for v in images.mm.vmas where v.status & (VmaStatus.vdso | VmaStatus.vvar) != 0 {
            guard maps.contains(where: { $0.start == v.start && $0.end == v.end }) else {
                let have = maps.filter { [.vdso, .vvar, .vvarVClock].contains($0.kind) }
                    .map { "\(hex($0.start))-\(hex($0.end))" }.joined(separator: " ")
                throw EngineError("map vdso", pid: r.pid,
                                  reason: "this kernel's vdso/vvar layout differs from the dumped one at \(hex(v.start))-\(hex(v.end)) (mapped: \(have))")
            }
        }
    }

    private func isSpecial(_ v: VmaEntry) -> Bool {
        v.status & (VmaStatus.vdso | VmaStatus.vvar | VmaStatus.vsyscall) != 0
    }

    /// Maps every VMA, in one batch that stops at the first failure; returns the indices of those that get
    /// pages (mapped writable for now).
    private func mapVmas() throws -> Set<Int> {
        var withPages = Set<Int>()
        var calls: [Call] = []
        var wanted: [UInt64] = []
        var pi = 0
        let pm = images.pagemap
        for (i, v) in images.mm.vmas.enumerated() {
            while pi < pm.count && pm[pi].vaddr < v.start { pi += 1 }
            if pi < pm.count && pm[pi].vaddr < v.end { withPages.insert(i) }
            if isSpecial(v) { continue }
            var prot = UInt64(v.prot)
            if withPages.contains(i) { prot |= UInt64(PROT_WRITE) }
            var flags = UInt64(v.flags & ~mapLocked) | mapFixed
            var fd = UInt64.max
            if v.status & VmaStatus.anonShared != 0, let f = report.shmemFds[v.shmid] {
                // One object for every task that maps this shmid: map its file instead of new memory.
                fd = UInt64(f)
                flags &= ~UInt64(MAP_ANONYMOUS)
            }
            if v.status & (VmaStatus.filePrivate | VmaStatus.fileShared) != 0 {
                guard let f = report.mappedFds[UInt32(truncatingIfNeeded: v.shmid)] else {
                    throw EngineError("map VMA", pid: r.pid, reason: "no fd for file id \(v.shmid) at \(hex(v.start))")
                }
                fd = UInt64(f)
            }
            calls.append(("mmap \(hex(v.start))-\(hex(v.end))",
                          RemoteCall(Int(SYS_mmap), v.start, v.end - v.start, prot, flags, fd, v.pgoff)))
            wanted.append(v.start)
        }
        for (got, want) in zip(try r.callAll(calls), wanted) where UInt64(bitPattern: got) != want {
            throw EngineError("map VMA", pid: r.pid, reason: "wanted \(hex(want)), got \(hex(UInt64(bitPattern: got)))")
        }
        return withPages
    }

    /// Runs in private anonymous VMAs are copied from here by UFFDIO_COPY (UffdFill), the others are read
    /// by the task itself: the pages image holds the runs back to back in pagemap order, so one injected
    /// preadv fills many consecutive runs (the iovec array goes in the shared scratch area, the kernel
    /// copies page cache straight into place).
    private func fillPages() throws -> UInt64 {
        let maxRuns = min(r.local.count / 16, Self.maxIovecs)
        var offset: UInt64 = 0
        var total: UInt64 = 0
        var batch: [(addr: UInt64, len: UInt64)] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            for (i, run) in batch.enumerated() {
                r.store(run.addr, at: 16 * i)
                r.store(run.len, at: 16 * i + 8)
            }
            let n = try r.call("preadv \(batch.count) runs at \(hex(batch[0].addr))", Int32(SYS_preadv),
                               UInt64(report.pagesFd), r.addr(0), UInt64(batch.count), offset, 0)
            var got = UInt64(n)
            // A short read (rare for a regular file) finishes run by run.
            for run in batch {
                let have = min(got, run.len)
                got -= have
                if have < run.len { try readRun(run.addr + have, run.len - have, at: offset + have) }
                offset += run.len
            }
            batch.removeAll(keepingCapacity: true)
        }
        let uffd = UffdFill.open(r, vmas: vmasWithPages().filter { UffdFill.suits($0) }.map { ($0.start, $0.end) },
                                 pagesPath: images.pagesPath)
        for e in images.pagemap {
            let len = ImageSet.pages(e) * Self.page
            total += ImageSet.pages(e)
            if let uffd, uffd.covers(e.vaddr) {
                try flush()
                try uffd.queue(to: e.vaddr, length: len, offset: offset)
                offset += len
                continue
            }
            batch.append((e.vaddr, len))
            if batch.count == maxRuns { try flush() }
        }
        try flush()
        try uffd?.run()
        uffd?.finish()
        return total
    }

    /// The VMAs (not vdso/vvar) that the pagemap puts pages in.
    private func vmasWithPages() -> [VmaEntry] {
        var out: [VmaEntry] = []
        var pi = 0
        let pm = images.pagemap
        for v in images.mm.vmas where !isSpecial(v) {
            while pi < pm.count && pm[pi].vaddr < v.start { pi += 1 }
            if pi < pm.count && pm[pi].vaddr < v.end { out.append(v) }
        }
        return out
    }

    private func readRun(_ addr: UInt64, _ len: UInt64, at offset: UInt64) throws {
        var done: UInt64 = 0
        while done < len {
            let n = try r.call("pread64 \(hex(addr + done))", Int32(SYS_pread64), UInt64(report.pagesFd),
                               addr + done, len - done, offset + done)
            guard n > 0 else {
                throw EngineError("read pages", pid: r.pid, path: images.pagesPath, reason: "short read at offset \(offset + done)")
            }
            done += UInt64(n)
        }
    }

    private func finishVmas(_ withPages: Set<Int>) throws {
        var calls: [Call] = []
        for (i, v) in images.mm.vmas.enumerated() where !isSpecial(v) {
            let len = v.end - v.start
            if withPages.contains(i) && v.prot & UInt32(PROT_WRITE) == 0 {
                calls.append(("mprotect \(hex(v.start))", RemoteCall(Int(SYS_mprotect), v.start, len, UInt64(v.prot))))
            }
            if v.hasMadv {
                for advice in 0..<UInt64(64) where v.madv & (1 << advice) != 0 && advice != madvDontneed {
                    calls.append(("madvise(\(advice)) \(hex(v.start))", RemoteCall(Int(SYS_madvise), v.start, len, advice)))
                }
            }
            if v.flags & mapLocked != 0 {
                calls.append(("mlock \(hex(v.start))", RemoteCall(Int(SYS_mlock), v.start, len)))
            }
        }
        try r.callAll(calls)
    }

    private func setMmFields() throws {
        let mm = images.mm
        let auxvOffset = 512
        for (i, v) in mm.mmSavedAuxv.enumerated() { r.store(v, at: auxvOffset + 8 * i) }
        var m = csys_prctl_mm_map()
        m.start_code = mm.mmStartCode
        m.end_code = mm.mmEndCode
        m.start_data = mm.mmStartData
        m.end_data = mm.mmEndData
        m.start_brk = mm.mmStartBrk
        m.brk = mm.mmBrk
        m.start_stack = mm.mmStartStack
        m.arg_start = mm.mmArgStart
        m.arg_end = mm.mmArgEnd
        m.env_start = mm.mmEnvStart
        m.env_end = mm.mmEnvEnd
        m.auxv = UnsafeMutablePointer(bitPattern: UInt(r.addr(auxvOffset)))
        m.auxv_size = UInt32(mm.mmSavedAuxv.count * 8)
        m.exe_fd = UInt32(report.exeFd)
        r.store(m, at: 0)
        try r.call("prctl(PR_SET_MM_MAP)", Int32(SYS_prctl), UInt64(CSYS_PR_SET_MM), UInt64(CSYS_PR_SET_MM_MAP), r.addr(),
                   UInt64(MemoryLayout<csys_prctl_mm_map>.size), 0)
    }
}
