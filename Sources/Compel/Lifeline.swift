import CSys
import Glibc
import SystemPackage

/// Moments of an injection at which a test kills criu (fault injection in the engine).
public enum InjectionEvent: Sendable, Equatable {
    /// The thread is inside an injected syscall (number).
    case syscallRunning(Int)
    /// The memfd of a new shared area is open in the task, not yet closed.
    case memfdOpen
    /// The batch loop runs its table or sleeps on its futex.
    case batchRunning
}

enum HealPathState {
    case unknown
    case unavailable(String)
    case available(HealPath)
}

/// A thread's way back: the frames below its stack pointer and the stack bytes they cover.
struct ThreadLifeline {
    let base: UInt64
    let original: [UInt8]
    /// The registers and mask the last frame returns to.
    let final: GeneralRegisters
    let mask: UInt64
    /// The set of frames the thread's registers point at (HealFrames.setSize).
    var active = 0
    func setBase(_ s: Int) -> UInt64 { base + UInt64(s * HealFrames.setSize) }
    var fp: UInt64 { base + UInt64(HealFrames.fpOffset) }
    /// rsp for the restorer: its rt_sigreturn takes frame 0 of the active set.
    var entry: UInt64 { HealFrames.frame(0, base: setBase(active)) + 8 }
    /// rsp and rbp for a syscall at the site whose epilogue goes into the active set.
    func stack(pops: Int) -> UInt64 { HealFrames.stack(toFrame: 0, base: setBase(active), pops: pops) }
}

/// Self-healing injection. The kernel detaches a task whose tracer dies, and each thread runs on with the
/// registers and signal mask it has at that moment. With `selfHealing`, that moment always leads back to
/// the thread's own state:
/// - between calls a thread waits at the task's rt_sigreturn restorer, rsp on its frames;
/// - an injected syscall runs with rsp and rbp on the frames, and the vdso epilogue after it `ret`s into
///   the restorer;
/// - the batch loop sleeps on a robust futex that criu's death wakes, and then jumps to the restorer.
/// Before the thread's own frame, the thread that ran our code last closes our memfd and unmaps our area.
/// While criu lives it never lets a thread run into any of this: it takes each one back at a stop first.
extension SeizedTask {
    /// Why injection here cannot heal itself (nil: it can, or selfHealing is off).
    public var selfHealingUnavailable: String? {
        guard selfHealing else { return nil }
        _ = healPath()
        if case .unavailable(let why) = healPathState { return why }
        return nil
    }

    /// Threads left without a way back, and why (no room on their stack, no XSAVE layout).
    public var unarmedThreads: [(tid: pid_t, reason: String)] { unarmed }

    func healPath() -> HealPath? {
        guard selfHealing else { return nil }
        if case .unknown = healPathState {
            do { healPathState = try findHealPath() } catch { healPathState = .unavailable("\(error)") }
        }
        if case .available(let p) = healPathState { return p }
        return nil
    }

    private func findHealPath() throws -> HealPathState {
        let status = try readProcText("/proc/\(pid)/status", pid: pid)
        if status.split(separator: "\n").contains(where: { $0.hasPrefix("x86_Thread_features:") && $0.contains("shstk") }) {
            return .unavailable("the task runs with a shadow stack, which a return into the restorer would break")
        }
        let maps = try readMaps(pid: pid)
        healMaps = maps
        guard let vdso = maps.first(where: { $0.path == "[vdso]" }) else { return .unavailable("the task has no vdso") }
        let code = try readMemory(at: vdso.start, count: Int(vdso.end - vdso.start))
        var site: (UInt64, Int)?
        for i in 0..<(code.count - 1) where code[i] == 0x0f && code[i + 1] == 0x05 {
            if let pops = HealFrames.epiloguePops(code, syscallAt: i) {
                site = (vdso.start + UInt64(i), pops)
                break
            }
        }
        guard let (s, pops) = site else { return .unavailable("no syscall in the vdso returns through the stack") }
        guard let r = findRestorer(maps) else { return .unavailable("no rt_sigreturn restorer in the task's code") }
        return .available(HealPath(site: s, pops: pops, restorer: r))
    }

    /// The first rt_sigreturn restorer in the task's executable file mappings, libc's first. Read from the
    /// mapped files (/proc/PID/map_files), not the task's memory, which would fault its pages in.
    private func findRestorer(_ maps: [MapEntry]) -> UInt64? {
        let code = maps.filter { $0.executable && $0.path.hasPrefix("/") }
        let isLibc = { (m: MapEntry) in m.path.contains("/libc.so") || m.path.contains("/libc-") }
        for m in code.filter(isLibc) + code.filter({ !isLibc($0) }) {
            let path = "/proc/\(pid)/map_files/\(String(m.start, radix: 16))-\(String(m.end, radix: 16))"
            let fd = csys_open(path, O_RDONLY | O_CLOEXEC, 0)
            if fd < 0 { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, UInt64(st.st_size) > m.offset else { continue }
            let len = Int(min(m.end - m.start, UInt64(st.st_size) - m.offset))
            guard let p = mmap(nil, len, PROT_READ, MAP_PRIVATE, fd, off_t(m.offset)), p != MAP_FAILED else { continue }
            defer { munmap(p, len) }
            if let off = HealFrames.restorerOffset(in: UnsafeRawBufferPointer(start: p, count: len)) {
                return m.start + UInt64(off)
            }
        }
        return nil
    }

    /// Writes the thread's way back below its stack pointer, before anything of ours runs in it. A thread
    /// whose stack has no room for it goes without (and is listed in `unarmedThreads`).
    func arm(_ t: SeizedThread) throws {
        guard t.lifeline == nil, !unarmed.contains(where: { $0.tid == t.tid }), let path = healPath() else { return }
        func skip(_ why: String) { unarmed.append((t.tid, why)) }
        guard let fp = HealFrames.fpstate(try getXsave(tid: t.tid).bytes, component: XsaveArea.component) else {
            return skip("the kernel gave no XSAVE layout")
        }
        let size = UInt64(HealFrames.regionSize(fpstateSize: fp.count))
        let rsp = t.resumeRegisters.rsp
        guard rsp > size + 4096 else { return skip("stack pointer 0x\(String(rsp, radix: 16)) is too low") }
        let top = (rsp - 128) & ~63
        let base = (top - size) & ~63
        // The maps read with the heal path: the task's threads cannot map anything while we hold them.
        guard healMaps.contains(where: { $0.start <= base && top <= $0.end && rsp <= $0.end && $0.writable && !$0.shared }) else {
            return skip("no room below the stack pointer 0x\(String(rsp, radix: 16)) in its mapping")
        }
        let original = try readMemory(at: base, count: Int(top - base))
        var final = t.resumeRegisters
        // rt_sigreturn resets the restart block: restart the interrupted call itself instead.
        if let sc = t.interruptedSyscall, sc.usesRestartBlock { final.rax = UInt64(bitPattern: sc.number) }
        final.orig_rax = UInt64.max
        let life = ThreadLifeline(base: base, original: original, final: final, mask: try t.savedSigmask ?? getSigmask(tid: t.tid))
        let frames = HealFrames.frames(base: base, fp: life.fp, path: path, steps: [], final: final, mask: life.mask)
        try writeMemory(at: base, bytes: frames + [UInt8](repeating: 0, count: HealFrames.fpOffset - frames.count) + fp)
        t.lifeline = life
        // Parked from now on: the mask is blocked next, and a death in between must not keep it so.
        t.touched = true
        try setRegisters(tid: t.tid, parkRegisters(t))
    }

    /// Makes `t`, about to run our code, the thread whose way back closes and unmaps: no other thread may
    /// unmap the area while `t` may be inside it. The old owner loses its steps first: a death in between
    /// leaves our area mapped, never unmapped twice (the second time perhaps over the task's own new
    /// mapping). A thread without a way back owns nothing: then nobody unmaps.
    func takeHealOwnership(_ t: SeizedThread) throws {
        guard selfHealing, healOwner !== t else { return }
        let old = healOwner
        healOwner = nil
        if let o = old, !o.detached { try writeFrames(o) }
        guard t.lifeline != nil else { return }
        healOwner = t
        try writeFrames(t)
    }

    /// A call that closes our memfd or unmaps our area runs from the moment its registers are set, even
    /// if criu dies: take its step off the way back, which would otherwise run it a second time, perhaps
    /// on a descriptor or range the task reused by then.
    func dropStep(_ number: Int, _ args: [UInt64]) throws {
        if number == Int(SYS_close), let fd = healClose, args.first == fd {
            healClose = nil
            try healStepsChanged()
        } else if number == Int(SYS_munmap), let m = healUnmap, args.first == m.addr {
            healUnmap = nil
            try healStepsChanged()
        }
    }

    /// The memfd or area changed: rewrite the owner's frames.
    func healStepsChanged() throws {
        if let o = healOwner, !o.detached { try writeFrames(o) }
    }

    /// Writes the thread's frames into its inactive set, then moves its registers there: parked at the
    /// restorer or about to run a syscall at the site. Registers elsewhere (memfd_create's stub path) are
    /// left for the caller to move.
    private func writeFrames(_ t: SeizedThread) throws {
        guard var life = t.lifeline, let path = healPath() else { return }
        var steps: [RemoteCall] = []
        if t === healOwner {
            if let fd = healClose { steps.append(RemoteCall(Int(SYS_close), fd)) }
            if let m = healUnmap { steps.append(RemoteCall(Int(SYS_munmap), m.addr, m.length)) }
        }
        let next = 1 - life.active
        try writeMemory(at: life.setBase(next), bytes: HealFrames.frames(base: life.setBase(next), fp: life.fp, path: path,
                                                                        steps: steps, final: life.final, mask: life.mask))
        let (oldEntry, oldStack) = (life.entry, life.stack(pops: path.pops))
        life.active = next
        t.lifeline = life
        var r = try getRegisters(tid: t.tid)
        if r.rsp == oldEntry {
            r.rsp = life.entry
        } else if r.rsp == oldStack {
            r.rsp = life.stack(pops: path.pops)
            r.rbp = r.rsp
        } else {
            return
        }
        try setRegisters(tid: t.tid, r)
    }

    /// The registers a thread waits with between our calls: at the restorer on its way back, if it has
    /// one; else its own.
    func parkRegisters(_ t: SeizedThread) -> GeneralRegisters {
        guard let life = t.lifeline, let path = healPath() else { return t.resumeRegisters }
        var r = t.resumeRegisters
        r.rip = path.restorer
        r.rsp = life.entry
        r.orig_rax = UInt64.max
        return r
    }

    /// rsp and rbp for a syscall at the site, so that its epilogue returns into the way back.
    func healStack(_ t: SeizedThread) -> UInt64? {
        guard let life = t.lifeline, let path = healPath() else { return nil }
        return life.stack(pops: path.pops)
    }

    /// Takes the way back away: the thread's own registers, then the stack bytes it covered. Call it once
    /// the thread's signal mask is its own again.
    func disarm(_ t: SeizedThread) throws {
        guard let life = t.lifeline else { return }
        if !t.detached {
            try setRegisters(tid: t.tid, t.resumeRegisters)
            try writeMemory(at: life.base, bytes: life.original)
        }
        t.lifeline = nil
        if healOwner === t { healOwner = nil }
    }

    /// The middle of the largest gap in the task's address space (below the 47-bit user limit), page
    /// aligned, with room for `length`; nil without one.
    func healAreaAddress(length: UInt64) -> UInt64? {
        let maps = healMaps.filter { $0.end <= 0x7fff_ffff_f000 }.sorted { $0.start < $1.start }
        var best: (low: UInt64, high: UInt64)?
        for (a, b) in zip(maps, maps.dropFirst()) where b.start > a.end {
            if best == nil || b.start - a.end > best!.high - best!.low { best = (a.end, b.start) }
        }
        guard let g = best, g.high - g.low >= length + 4 * pageSize else { return nil }
        return (g.low + (g.high - g.low) / 2) & ~(pageSize - 1)
    }
}
