import Glibc
import CSys

/// Helper tasks stand in for session and group leaders that had exited before the dump: the kernel only
/// lets a task join a group or session whose leader exists (or existed when the task was forked), so a
/// helper is forked at the dead leader's pid, creates the session or group, and goes away once the real
/// tasks are in it. Its pid disappears again; the dumped images never mention it.
enum HelperKind: Equatable {
    /// A sibling of the group's members: leads the group until the parent has moved them in, then is
    /// killed and reaped by that parent.
    case group
    /// setsid()s and forks the session's members itself (a session can only be inherited), then exits.
    /// The members are reparented to their dumped parent, which is a child subreaper.
    case session
}

enum TreeHelpers {
    /// Inserts helper plans where a task's session or group leader is not in the tree. `subreaper` tells
    /// whether a task was a child subreaper when dumped. Shapes no helper can recreate are refused.
    static func insert(_ plans: inout [ChildPlan], subreaper: (Int32) -> Bool) throws {
        let pids = Set(plans.map(\.pid))
        var parent: [Int: Int] = [:]
        for (pi, p) in plans.enumerated() { for c in p.children { parent[c] = pi } }
        var helperAt: [Int32: Int] = [:]

        // Sessions first: their members move under the helper, which then is their parent for groups.
        for i in plans.indices.dropFirst() where plans[i].zombie == nil {
            let p = plans[i], pi = parent[i]!
            guard p.sid != p.pid && p.sid != plans[pi].sid else { continue }
            // A leader that died but is not reaped yet is a zombie of the tree: it forks the members itself
            // before it dies, as a session helper would (caught whole by transition tests).
            if let zi = plans.firstIndex(where: { $0.pid == p.sid }), plans[zi].zombie != nil, parent[zi] == pi,
               subreaper(plans[pi].pid), p.cloneFlags == 0 {
                plans[pi].children.removeAll { $0 == i }
                plans[zi].children.append(i)
                plans[i].helperParent = p.sid
                parent[i] = zi
                continue
            }
            if pids.contains(p.sid) {
                throw EngineError("restore", pid: p.pid, reason: "is in session \(p.sid), whose leader is in the tree but not its ancestor; not supported")
            }
            guard subreaper(plans[pi].pid) else {
                throw EngineError("restore", pid: p.pid,
                                  reason: "its session leader \(p.sid) is gone and its parent \(plans[pi].pid) is not a child subreaper, so it cannot be given back to that parent")
            }
            if p.cloneFlags != 0 {
                throw EngineError("restore", pid: p.pid, reason: "shares cwd/root/umask or its fd table with its parent but its session leader \(p.sid) is gone; not supported")
            }
            let h = try helper(&plans, &helperAt, pid: p.sid, kind: .session, parent: pi, from: p)
            parent[h] = pi
            plans[pi].children.removeAll { $0 == i }
            plans[h].children.append(i)
            plans[i].helperParent = p.sid
            parent[i] = h
        }
        // Groups whose leader is gone: a helper sibling in the members' session.
        for i in plans.indices.dropFirst() where plans[i].zombie == nil && plans[i].helper == nil {
            let p = plans[i], pi = parent[i]!
            guard p.pgid != p.pid && p.pgid != p.sid && p.pgid != plans[pi].pgid && !pids.contains(p.pgid) else { continue }
            if let h = helperAt[p.pgid] {
                guard plans[h].helper == .group && parent[h] == pi else {
                    throw EngineError("restore", pid: p.pid,
                                      reason: "its group leader \(p.pgid) is gone and the group's members have different parents; not supported")
                }
                continue
            }
            guard p.sid == plans[pi].sid else {
                throw EngineError("restore", pid: p.pid, reason: "its group leader \(p.pgid) is gone and it is in another session than its parent; not supported")
            }
            let h = try helper(&plans, &helperAt, pid: p.pgid, kind: .group, parent: pi, from: p)
            parent[h] = pi
        }
    }

    private static func helper(_ plans: inout [ChildPlan], _ at: inout [Int32: Int], pid: Int32, kind: HelperKind,
                               parent: Int, from member: ChildPlan) throws -> Int {
        if let h = at[pid] {
            guard plans[h].helper == kind else {
                throw EngineError("restore", pid: member.pid, reason: "pid \(pid) would need two helpers (session and group); not supported")
            }
            return h
        }
        var h = ChildPlan(sid: kind == .session ? pid : member.sid, pgid: pid, pid: pid, umask: 0, cwd: "/", root: "/",
                          fds: [], pagesPath: "", exePath: "", mappedFiles: [:], trampolineCandidates: [])
        h.helper = kind
        at[pid] = plans.count
        plans[parent].children.insert(plans.count, at: 0)
        plans.append(h)
        return plans.count - 1
    }

    /// The helper's life after clone3; never returns. A session helper forks its members (with `fork`,
    /// RestoreChild's own forking) and exits; a group helper waits to be killed by its parent.
    static func run(_ plan: ChildPlan, forkMembers: () throws -> Void) -> Never {
        _ = csys_prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
        if plan.helper == .session {
            if setsid() < 0 { _exit(2) }
            do { try forkMembers() } catch { _exit(3) }
            _exit(0)
        }
        while true { pause() }
    }

    /// In the parent, once every child exists and has its group: group helpers are killed, and both
    /// kinds reaped, so that their pids are free again and nobody sees them.
    static func finish(_ plans: [ChildPlan], _ plan: ChildPlan) throws {
        for c in plan.children.map({ plans[$0] }) where c.helper != nil {
            if c.helper == .group { kill(c.pid, SIGKILL) }
            var st: Int32 = 0
            var r: Int32
            repeat { r = waitpid(c.pid, &st, __WALL) } while r < 0 && errno == EINTR
            if r != c.pid {
                throw EngineError("reap helper task", pid: c.pid, errno: .init(rawValue: errno))
            }
            if c.helper == .session && !(csys_wifexited(st) != 0 && csys_wexitstatus(st) == 0) {
                throw EngineError("session helper", pid: c.pid, reason: "failed to create session \(c.pid) for its members (status \(st))")
            }
        }
    }

    /// A member forked by a session helper: waits until the helper is gone and it belongs to its dumped
    /// parent, before it takes PDEATHSIG (which would fire when the helper exits).
    static func awaitReparent(from helper: Int32) throws {
        var spins = 0
        while getppid() == helper {
            spins += 1
            if spins > 50000 { throw EngineError("wait for session helper to exit", pid: helper, reason: "it did not exit") }
            usleep(100)
        }
    }
}
