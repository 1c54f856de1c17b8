import Glibc
import Compel
import Logging

/// One task of the dumped tree: seized, or a zombie (nothing to seize, only its exit status).
struct TreeTask {
    let pid: Int32
    let ppid: Int32
    let pgid: Int32
    let sid: Int32
    /// nil for a zombie and for a parent inside vfork.
    let task: SeizedTask?
    /// For a parent inside vfork (never seized: ptrace cannot stop it there), the child it waits for.
    var vforkChild: Int32? = nil
    /// Seized, or a parent inside vfork: a task whose children are part of the tree.
    var isLive: Bool { task != nil || vforkChild != nil }
    /// The zombie's wait status as the kernel keeps it (exit code << 8, or the killing signal).
    let exitCode: Int32
    let comm: String
}

/// Seizes a whole tree: the root, then the children of every seized task, and so on. A seized task is
/// frozen, so it cannot fork any more: once every task's children were read after its seize, the set is
/// complete. Children that exit meanwhile become zombies and are recorded as such.
enum TreeCollector {
    static func collect(root: Int32, timeout: Duration, log: Logger) throws -> [TreeTask] {
        var out: [TreeTask] = []
        var known: Set<Int32> = []
        do {
            out.append(try take(root, timeout: timeout))
            known.insert(root)
            var next = 0
            var rescans = 0
            while true {
                if next == out.count {
                    // A child subreaper (or a pid namespace's init) gains orphans from any descendant that
                    // exits, frozen or not: one that died between our reading its parent's children and
                    // seizing it handed its own children up to a task we had already read. Read every
                    // task's children again until nothing new appears.
                    let before = out.count
                    for t in out where t.isLive {
                        let kids = (try? Tasks.children(pid: t.pid)) ?? []
                        if kids.contains(where: { !known.contains($0) }) { next = out.firstIndex { $0.pid == t.pid }!; break }
                    }
                    if next == before { break }
                    rescans += 1
                    if rescans > 1000 { throw EngineError("dump", pid: root, reason: "the tree kept changing while it was frozen") }
                }
                let t = out[next]
                next += 1
                guard t.isLive else { continue }
                let kids: [Int32]
                do { kids = try Tasks.children(pid: t.pid) } catch {
                    throw EngineError("read children", pid: t.pid, reason: "\(error)")
                }
                for k in kids where !known.contains(k) {
                    known.insert(k)
                    let st = try? Stat.read(pid: k)
                    if st == nil || st!.state == "Z" || st!.state == "X" {
                        out.append(try describe(k, nil))
                        continue
                    }
                    do { out.append(try take(k, timeout: timeout)) } catch {
                        // It may have exited between the read and the seize.
                        if let s = try? Stat.read(pid: k), s.state == "Z" {
                            out.append(try describe(k, nil))
                            continue
                        }
                        throw error
                    }
                }
            }
            // A vfork parent stays asleep only while its child neither execs nor exits: the child must be
            // seized, and the parent still waiting for it now that the child is frozen.
            for t in out {
                guard let c = t.vforkChild else { continue }
                if out.contains(where: { $0.pid == c && $0.vforkChild != nil }) {
                    throw EngineError("dump", pid: t.pid, reason: "is inside vfork() and its child \(c) is inside vfork() too; not supported")
                }
                guard out.contains(where: { $0.pid == c && $0.task != nil }), VforkCheck.child(of: t.pid) == c else {
                    throw EngineError("dump", pid: t.pid, reason: "left vfork (its child \(c) exited or exec'd) while the tree was being frozen; try again")
                }
            }
        } catch {
            release(out)
            throw error
        }
        log.debug("Collected \(out.count) tasks under pid \(root)")
        return out
    }

    private static func seize(_ pid: Int32, timeout: Duration) throws -> SeizedTask {
        // Another tracer's stop (a debugger) is not ours to undo, and seize would only say EPERM.
        if let st = try? Status.read(pid: pid), st.tracerPid != 0 {
            throw EngineError("dump", pid: pid, reason: "is traced by pid \(st.tracerPid) (a debugger or another tracer); detach it first")
        }
        do { return try SeizedTask.seize(pid, timeout: timeout) } catch {
            throw EngineError.wrap(error, "seize", pid: pid)
        }
    }

    /// Seizes `pid`, or records it unseized when it is inside vfork (its state is read without a stop).
    private static func take(_ pid: Int32, timeout: Duration) throws -> TreeTask {
        if let child = VforkCheck.child(of: pid) {
            if let st = try? Status.read(pid: pid), st.tracerPid != 0 {
                throw EngineError("dump", pid: pid, reason: "is traced by pid \(st.tracerPid) (a debugger or another tracer); detach it first")
            }
            _ = try VforkCheck.reader(for: pid, child: child)
            var t = try describe(pid, nil, vfork: true)
            t.vforkChild = child
            return t
        }
        return try describe(pid, try seize(pid, timeout: timeout))
    }

    private static func describe(_ pid: Int32, _ task: SeizedTask?, vfork: Bool = false) throws -> TreeTask {
        let st: TaskStat
        do { st = try Stat.read(pid: pid) } catch {
            throw EngineError("read stat", pid: pid, reason: "\(error)")
        }
        if task == nil && !vfork {
            // A zombie whose parent is frozen stays until the parent reaps it.
            guard st.state == "Z" else {
                throw EngineError("dump", pid: pid, reason: "child vanished or changed state while the tree was frozen")
            }
        }
        return TreeTask(pid: pid, ppid: st.ppid, pgid: st.pgrp, sid: st.session, task: task, exitCode: st.exitCode, comm: st.comm)
    }

    /// Lets every seized task go, children first, exactly as they were.
    static func release(_ tasks: [TreeTask]) {
        for t in tasks.reversed() {
            guard let task = t.task else { continue }
            do { try task.cure() } catch { /* the task died; nothing left to undo */ }
        }
    }
}
