import Glibc
import CSys
import Images

/// The mount table of the tree's own mount namespace.
///
/// Dump records /proc/PID/mountinfo. A mount whose filesystem (device) criu's own namespace also has is
/// marked ext_mount: it came with the copy the namespace started as, and the restore's fresh namespace
/// (again a copy of criu's) has it too. Any other mount is a filesystem the tree created; only kinds that
/// carry no data (proc, sysfs, mqueue, cgroup2) can be made again, anything else is refused at dump.
///
/// Restore runs in the root task, in its fresh mount (and pid) namespace, and turns the copy into the
/// image: per mount point, the stack of mounts both share from the bottom stays, the copy's extra mounts
/// are detached, the image's extra mounts are made fresh. See docs/namespaces.md for why this diff and
/// not a rebuild with pivot_root.
enum MountNamespace {
    static let fstypeCodes: [String: UInt32] = ["proc": 1, "sysfs": 2, "devtmpfs": 3, "tmpfs": 5, "devpts": 6,
                                                "cgroup": 12, "mqueue": 14, "cgroup2": 23]
    static let remakeable: Set<String> = ["proc", "sysfs", "mqueue", "cgroup2"]

    static func read(_ path: String, pid: Int32?) throws -> [MountInfo] {
        do { return try Mountinfo.parse(try ProcFile.readText(path), source: path) } catch {
            throw EngineError("read mount table", pid: pid, path: path, reason: "\(error)")
        }
    }

    static func dump(pid: Int32) throws -> [MntEntry] {
        let mine = Set(try read("/proc/self/mountinfo", pid: nil).map { "\($0.devMajor):\($0.devMinor)" })
        var out: [MntEntry] = []
        for m in try read("/proc/\(pid)/mountinfo", pid: pid) {
            let ext = mine.contains("\(m.devMajor):\(m.devMinor)")
            if !ext && !remakeable.contains(m.fsType) {
                throw EngineError("dump", pid: pid, path: m.mountPoint,
                                  reason: "its mount namespace has a \(m.fsType) mount of its own at \(m.mountPoint); only proc, sysfs, mqueue and cgroup2 mounts can be made again")
            }
            var e = MntEntry()
            e.fstype = fstypeCodes[m.fsType] ?? 0
            e.fsname = m.fsType
            e.mntID = UInt32(bitPattern: m.mountId)
            e.parentMntID = UInt32(bitPattern: m.parentId)
            e.rootDev = (m.devMajor << 20) | m.devMinor
            e.flags = UInt32(truncatingIfNeeded: mountFlags(m.options))
            e.sbFlags = m.superOptions.split(separator: ",").contains("ro") ? UInt32(CSYS_MS_RDONLY) : 0
            e.root = m.root
            e.mountpoint = m.mountPoint
            e.source = m.source
            e.options = m.superOptions
            if let s = m.shared { e.sharedID = UInt32(bitPattern: s) }
            if let s = m.master { e.masterID = UInt32(bitPattern: s) }
            e.extMount = ext
            out.append(e)
        }
        return out
    }

    static func mountFlags(_ options: String) -> UInt {
        var f: UInt = 0
        for o in options.split(separator: ",") {
            switch o {
            case "ro": f |= UInt(CSYS_MS_RDONLY)
            case "nosuid": f |= UInt(CSYS_MS_NOSUID)
            case "nodev": f |= UInt(CSYS_MS_NODEV)
            case "noexec": f |= UInt(CSYS_MS_NOEXEC)
            case "noatime": f |= UInt(CSYS_MS_NOATIME)
            case "nodiratime": f |= UInt(CSYS_MS_NODIRATIME)
            case "relatime": f |= UInt(CSYS_MS_RELATIME)
            default: break
            }
        }
        return f
    }

    /// What restore changes, computed from the image and the copy's table (pure, so it is unit-tested).
    struct Plan: Equatable {
        /// Mount points to detach, one entry per mount, topmost first.
        var detach: [String] = []
        /// Image mounts to make fresh, in image order.
        var mount: [Int] = []
    }

    static func plan(image: [MntEntry], current: [MountInfo]) throws -> Plan {
        var plan = Plan()
        var imageStacks: [String: [Int]] = [:], order: [String] = []
        for (i, e) in image.enumerated() {
            if imageStacks[e.mountpoint] == nil { order.append(e.mountpoint) }
            imageStacks[e.mountpoint, default: []].append(i)
        }
        var currentStacks: [String: [MountInfo]] = [:], currentOrder: [String] = []
        for m in current {
            if currentStacks[m.mountPoint] == nil { currentOrder.append(m.mountPoint) }
            currentStacks[m.mountPoint, default: []].append(m)
        }
        // Mount points only the copy has go first, deepest first, so that their parents still exist.
        for mp in currentOrder.reversed() where imageStacks[mp] == nil {
            for _ in currentStacks[mp]! { plan.detach.append(mp) }
        }
        for mp in order {
            let want = imageStacks[mp]!.map { image[$0] }
            let have = currentStacks[mp] ?? []
            var k = 0
            while k < want.count && k < have.count && same(want[k], have[k]) { k += 1 }
            for _ in k..<have.count { plan.detach.append(mp) }
            for i in imageStacks[mp]![k...] {
                let e = image[i]
                guard !e.extMount else {
                    throw EngineError("restore mount namespace", path: mp,
                                      reason: "the \(e.fsname) mount at \(mp) came from criu's namespace at dump, but criu's namespace has no such mount there now")
                }
                plan.mount.append(i)
            }
        }
        return plan
    }

    /// An image mount the copy already has: a filesystem of criu's namespace, at the same place, showing
    /// the same directory with the same options.
    static func same(_ e: MntEntry, _ m: MountInfo) -> Bool {
        e.extMount && e.root == m.root && e.fsname == m.fsType && e.source == m.source
            && e.options == m.superOptions && e.flags == UInt32(truncatingIfNeeded: mountFlags(m.options))
    }

    /// Runs in the restored root, in its fresh mount namespace. Nothing may propagate back to criu's
    /// namespace, so every mount is made private first.
    static func restore(_ image: [MntEntry]) throws {
        if csys_mount(nil, "/", nil, UInt(CSYS_MS_REC | CSYS_MS_PRIVATE), nil) < 0 {
            throw EngineError("make / private in the new mount namespace", errno: .init(rawValue: errno))
        }
        let p = try plan(image: image, current: try read("/proc/self/mountinfo", pid: nil))
        for mp in p.detach where csys_umount2(mp, CSYS_MNT_DETACH) < 0 {
            throw EngineError("detach mount", path: mp, errno: .init(rawValue: errno))
        }
        for i in p.mount {
            let e = image[i]
            // Super options minus rw/ro, which are the mount flags' business.
            let data = e.options.split(separator: ",").filter { $0 != "rw" && $0 != "ro" }.joined(separator: ",")
            let flags = UInt(e.flags) | UInt(e.sbFlags)
            let r = data.isEmpty ? csys_mount(e.source, e.mountpoint, e.fsname, flags, nil)
                                 : csys_mount(e.source, e.mountpoint, e.fsname, flags, data)
            if r < 0 {
                throw EngineError("mount \(e.fsname) (\(e.source))", path: e.mountpoint, errno: .init(rawValue: errno))
            }
        }
    }
}
