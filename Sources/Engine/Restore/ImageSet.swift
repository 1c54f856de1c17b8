import Glibc
import CSys
import Images

/// Every image of a single-task dump, read and checked before anything is created.
struct ImageSet {
    let pstree: PstreeEntry
    let core: CoreEntry
    /// The other threads of the task, in pstree order, with their cores.
    var threadCores: [(tid: Int32, core: CoreEntry)] = []
    let mm: MmEntry
    let ids: TaskKobjIdsEntry
    let fs: FsEntry
    let files: [UInt32: FileEntry]
    let fdinfo: [FdinfoEntry]
    let pagemap: [PagemapEntry]
    let pagesPath: String
    let pagesId: UInt32
    let fileImages: FileImages

    var pid: Int32 { Int32(bitPattern: pstree.pid) }

    /// Reads one live task's images; `files` is files.img, shared by the whole tree.
    static func read(_ dir: ImageDir, entry ps: PstreeEntry, core: CoreEntry, files: [UInt32: FileEntry]) throws -> ImageSet {
        let pid = ps.pid
        guard ps.threads.first == pid, Set(ps.threads).count == ps.threads.count else {
            throw EngineError("read images", path: dir.file("pstree.img"),
                              reason: "task \(pid): its thread list must start with the pid and name each thread once")
        }
        var threadCores: [(tid: Int32, core: CoreEntry)] = []
        for tid in ps.threads.dropFirst() {
            let name = "core-\(tid).img"
            let c = try dir.readOne(name, .core, as: CoreEntry.self)
            guard c.mtype == .x8664, c.hasThreadInfo, c.hasThreadCore else {
                throw EngineError("read images", path: dir.file(name), reason: "not an x86-64 thread core with thread info")
            }
            threadCores.append((Int32(bitPattern: tid), c))
        }
        guard core.mtype == .x8664, core.hasThreadInfo, core.hasTc, core.hasThreadCore else {
            throw EngineError("read images", path: dir.file("core-\(pid).img"), reason: "not an x86-64 task core with thread info")
        }
        let mm = try dir.readOne("mm-\(pid).img", .mm, as: MmEntry.self)
        let ids = try dir.readOne("ids-\(pid).img", .ids, as: TaskKobjIdsEntry.self)
        let fs = try dir.readOne("fs-\(pid).img", .fs, as: FsEntry.self)
        let fdinfo = try dir.readAll("fdinfo-\(ids.filesID).img", .fdinfo, as: FdinfoEntry.self)

        let pmReader = try dir.reader("pagemap-\(pid).img", .pagemap)
        var pagemap: [PagemapEntry] = []
        let pagesId: UInt32
        do {
            guard let head = try pmReader.next(PagemapHead.self) else {
                throw EngineError("read images", path: dir.file("pagemap-\(pid).img"), reason: "no pagemap head")
            }
            pagesId = head.pagesID
            while let e = try pmReader.next(PagemapEntry.self) { pagemap.append(e) }
        } catch {
            throw EngineError.wrap(error, "read image pagemap-\(pid).img")
        }
        let set = ImageSet(pstree: ps, core: core, threadCores: threadCores, mm: mm, ids: ids, fs: fs, files: files, fdinfo: fdinfo,
                           pagemap: pagemap, pagesPath: dir.file("pages-\(pagesId).img"), pagesId: pagesId,
                           fileImages: try FileImages.read(dir, files: files))
        try set.validate()
        return set
    }

    static func pages(_ e: PagemapEntry) -> UInt64 { e.hasNrPages ? e.nrPages : UInt64(e.compatNrPages) }

    /// Cross-checks the images against each other, so a bad set fails before any process exists.
    func validate() throws {
        for fd in fdinfo {
            guard let f = files[fd.id] else {
                throw EngineError("check images", reason: "fd \(fd.fd) refers to file id \(fd.id), which files.img lacks")
            }
            guard FileKinds.kind(for: f.type) != nil else {
                throw EngineError("check images", fd: Int32(fd.fd), reason: "file kind \(f.type) is not supported yet")
            }
        }
        for id in [fs.cwdID, fs.rootID, mm.exeFileID] where files[id]?.hasReg != true {
            throw EngineError("check images", reason: "file id \(id) (cwd, root or exe) is not a regular file entry")
        }
        var prevEnd: UInt64 = 0
        for v in mm.vmas {
            guard v.start < v.end, v.start >= prevEnd, v.start % 4096 == 0, v.end % 4096 == 0 else {
                throw EngineError("check images", reason: "VMA \(hex(v.start))-\(hex(v.end)) is out of order or misaligned")
            }
            prevEnd = v.end
            let mappedFile = files[UInt32(truncatingIfNeeded: v.shmid)]
            if v.status & (VmaStatus.filePrivate | VmaStatus.fileShared) != 0 && mappedFile?.hasReg != true
                && !(v.status & VmaStatus.memfd != 0 && mappedFile?.hasMemfd == true) {
                throw EngineError("check images", reason: "VMA \(hex(v.start)) maps file id \(v.shmid), which files.img lacks")
            }
        }
        var total: UInt64 = 0
        let vmas = mm.vmas
        for e in pagemap {
            let n = Self.pages(e)
            let end = e.vaddr + n * 4096
            // The VMAs are sorted and disjoint (checked above): bisect for the last one starting at or below
            // the run, so a task with many VMAs and runs costs P log V, not P x V.
            var lo = 0, hi = vmas.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if vmas[mid].start <= e.vaddr { lo = mid + 1 } else { hi = mid }
            }
            guard lo > 0, end <= vmas[lo - 1].end else {
                throw EngineError("check images", reason: "pagemap run \(hex(e.vaddr))+\(n) lies outside every VMA")
            }
            total += n
        }
        var st = stat()
        guard csys_stat(pagesPath, &st) == 0 else {
            throw EngineError("check images", path: pagesPath, errno: .init(rawValue: errno))
        }
        guard UInt64(st.st_size) == total * 4096 else {
            throw EngineError("check images", path: pagesPath,
                              reason: "holds \(st.st_size) bytes, the pagemap needs \(total * 4096)")
        }
    }
}
