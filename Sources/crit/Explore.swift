import ArgumentParser
import Foundation
import Images

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "x", abstract: "Explain an image directory: ps, fds, mems or rss.")
    @Argument(help: "Image directory.") var dir: String
    @Argument(help: "What to show: ps, fds, mems, rss.") var what: String

    func run() throws {
        try Crit.guarded {
            let set = ImageSet(dir: dir)
            let out: String
            switch what {
            case "ps": out = try set.ps()
            case "fds": out = try set.fds()
            case "mems": out = try set.mems()
            case "rss": out = try set.rss()
            default: throw CritError("unknown explorer \"\(what)\" (ps, fds, mems, rss)")
            }
            print(out, terminator: "")
        }
    }
}

/// Read-only view of an image directory, loading files on demand.
struct ImageSet {
    let dir: String

    func path(_ kind: ImageKind, _ id: UInt64? = nil) -> String {
        dir + "/" + kind.fileName(id)
    }

    func exists(_ kind: ImageKind, _ id: UInt64? = nil) -> Bool {
        FileManager.default.fileExists(atPath: path(kind, id))
    }

    func all<M: SwiftProtobuf.Message>(_ kind: ImageKind, _ id: UInt64? = nil, as: M.Type) throws -> [M] {
        let r = try ImageReader(path: path(kind, id), expect: kind)
        var out: [M] = []
        while let m = try r.next(M.self) { out.append(m) }
        return out
    }

    func one<M: SwiftProtobuf.Message>(_ kind: ImageKind, _ id: UInt64? = nil, as t: M.Type) throws -> M {
        guard let m = try all(kind, id, as: t).first else {
            throw CritError("\(path(kind, id)): no entries")
        }
        return m
    }

    func tree() throws -> [PstreeEntry] { try all(.pstree, as: PstreeEntry.self) }

    func comm(_ pid: UInt32) -> String {
        (try? one(.core, UInt64(pid), as: CoreEntry.self))?.tc.comm ?? "?"
    }

    func ps() throws -> String {
        let tasks = try tree()
        let pids = Set(tasks.map(\.pid))
        var children: [UInt32: [PstreeEntry]] = [:]
        for t in tasks { children[t.ppid, default: []].append(t) }
        var s = pad("PID", 7) + pad("PGID", 7) + pad("SID", 7) + "   THREADS  COMM\n"
        func show(_ t: PstreeEntry, _ depth: Int) {
            s += pad(String(t.pid), 7) + pad(String(t.pgid), 7) + pad(String(t.sid), 7)
            s += "   " + pad(String(t.threads.count), 7) + "  "
            s += String(repeating: "    ", count: depth) + comm(t.pid) + "\n"
            for c in children[t.pid] ?? [] { show(c, depth + 1) }
        }
        for t in tasks where !pids.contains(t.ppid) { show(t, 0) }
        return s
    }

    final class Files {
        var byId: [UInt32: FileEntry] = [:]
    }

    func files() throws -> Files {
        let f = Files()
        if exists(.files) {
            for e in try all(.files, as: FileEntry.self) { f.byId[e.id] = e }
        }
        return f
    }

    func describe(_ id: UInt32, _ files: Files) -> String {
        guard let f = files.byId[id] else { return "? (file id \(id) not in files.img)" }
        switch f.type {
        case .reg: return f.reg.name
        case .pipe: return "pipe[\(f.pipe.pipeID)]"
        case .fifo: return "fifo[\(f.fifo.pipeID)] " + (files.byId[f.fifo.regfID].map { $0.reg.name } ?? "")
        case .unixsk:
            let name = String(decoding: f.usk.name, as: UTF8.self).replacingOccurrences(of: "\0", with: "@")
            return "unix[\(f.usk.ino)" + (f.usk.peer != 0 ? " -> \(f.usk.peer)" : "") + "]" + (name.isEmpty ? "" : " " + name)
        case .inetsk:
            return "inet[\(f.isk.ino)] family \(f.isk.family) type \(f.isk.type) :\(f.isk.srcPort) -> :\(f.isk.dstPort)"
        case .netlinksk: return "netlink[\(f.nlsk.ino)] protocol \(f.nlsk.protocol)"
        case .packetsk: return "packet[\(f.psk.id)]"
        case .eventfd: return "eventfd counter \(f.efd.counter)"
        case .eventpoll: return "eventpoll \(f.epfd.tfd.count) targets"
        case .signalfd: return "signalfd mask 0x" + String(f.sgfd.sigmask, radix: 16)
        case .timerfd: return "timerfd clock \(f.tfd.clockid)"
        case .inotify: return "inotify \(f.ify.wd.count) watches"
        case .fanotify: return "fanotify \(f.ffy.mark.count) marks"
        case .tty: return "tty[\(f.tty.ttyInfoID)]"
        case .memfd: return "memfd inode \(f.memfd.inodeID)"
        case .ns: return "ns[\(f.nsf.nsID)]"
        case .pidfd: return "pidfd nspid \(f.pidfd.nspid)"
        default: return "\(f.type) id \(id)"
        }
    }

    func fds() throws -> String {
        let files = try files()
        let inv = try? one(.inventory, as: InventoryEntry.self)
        var s = ""
        for t in try tree() {
            s += "\(t.pid) \(comm(t.pid))\n"
            let ids = try? one(.ids, UInt64(t.pid), as: TaskKobjIdsEntry.self)
            let fdinfoID = (inv?.fdinfoPerID ?? false) ? UInt64(ids?.filesID ?? 0) : UInt64(t.pid)
            if exists(.fdinfo, fdinfoID) {
                for fd in try all(.fdinfo, fdinfoID, as: FdinfoEntry.self) {
                    s += "    " + pad(String(fd.fd), 7) + ": " + describe(fd.id, files) + "\n"
                }
            }
            if let fs = try? one(.fs, UInt64(t.pid), as: FsEntry.self) {
                s += "    " + pad("cwd", 7) + ": " + describe(fs.cwdID, files) + "\n"
                s += "    " + pad("root", 7) + ": " + describe(fs.rootID, files) + "\n"
            }
        }
        return s
    }

    func mmID(_ pid: UInt32) -> UInt64 {
        let inv = try? one(.inventory, as: InventoryEntry.self)
        if inv?.nsPerID ?? false, let ids = try? one(.ids, UInt64(pid), as: TaskKobjIdsEntry.self),
           exists(.mm, UInt64(ids.vmID)) {
            return UInt64(ids.vmID)
        }
        return UInt64(pid)
    }

    func vmaName(_ v: VmaEntry, _ files: Files) -> String {
        if v.status & VmaStatus.stack != 0 { return "[stack]" }
        if v.status & VmaStatus.heap != 0 { return "[heap]" }
        if v.status & VmaStatus.vdso != 0 { return "[vdso]" }
        if v.status & VmaStatus.vvar != 0 { return "[vvar]" }
        if v.status & VmaStatus.vsyscall != 0 { return "[vsyscall]" }
        if v.status & (VmaStatus.filePrivate | VmaStatus.fileShared) != 0 {
            return describe(UInt32(truncatingIfNeeded: v.shmid), files)
        }
        if v.status & VmaStatus.anonShared != 0 { return "shared anon (shmid \(v.shmid))" }
        return ""
    }

    func prot(_ v: VmaEntry) -> String {
        let p = v.prot
        let shared = v.flags & 0x01 != 0  // MAP_SHARED
        return (p & 1 != 0 ? "r" : "-") + (p & 2 != 0 ? "w" : "-") + (p & 4 != 0 ? "x" : "-") + (shared ? "s" : "p")
    }

    func mems() throws -> String {
        let files = try files()
        var s = ""
        for t in try tree() {
            s += "\(t.pid) \(comm(t.pid))\n"
            let mm = try one(.mm, mmID(t.pid), as: MmEntry.self)
            s += "    " + pad("exe", 38) + describe(mm.exeFileID, files) + "\n"
            for v in mm.vmas {
                let range = hex(v.start) + "-" + hex(v.end)
                s += "    " + pad(range, 34) + prot(v) + "  " + vmaName(v, files) + "\n"
            }
        }
        return s
    }

    func rss() throws -> String {
        let files = try files()
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        var s = ""
        for t in try tree() {
            let id = mmID(t.pid)
            s += "\(t.pid) \(comm(t.pid))\n"
            let vmas = (try? one(.mm, id, as: MmEntry.self))?.vmas ?? []
            let pm = try PagemapReader(path: path(.pagemap, id), pageSize: pageSize)
            s += "    " + pad("PAGES", 24) + pad("WHERE", 10) + "MAPPING\n"
            var total: UInt64 = 0
            while let (e, _) = try pm.next() {
                let end = e.vaddr &+ e.pageCount &* pageSize
                total += e.pageCount
                let where_ = e.inPagesFile ? "pages-\(pm.head.pagesID)" : "parent"
                let vma = vmas.first { $0.start <= e.vaddr && e.vaddr < $0.end }
                let mapping = vma.map { hex($0.start) + " " + prot($0) + " " + vmaName($0, files) } ?? "(no vma)"
                s += "    " + pad(hex(e.vaddr) + "/\(e.pageCount)", 24) + pad(where_, 10) + mapping + "\n"
                _ = end
            }
            s += "    total \(total) pages (\(total * pageSize / 1024) KiB)\n"
        }
        return s
    }
}

import SwiftProtobuf

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}

func hex(_ v: UInt64) -> String { String(v, radix: 16) }
