import Glibc
import CSys
import Images
import SwiftProtobuf

/// The images directory of one dump or restore. A dump remembers every file it wrote so that a failed
/// dump can take them all away again.
final class ImageDir {
    let path: String
    private(set) var written: [String] = []

    init(path: String) { self.path = path }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func checkWritable() throws {
        var st = stat()
        guard csys_stat(path, &st) == 0 else {
            throw EngineError("use images directory", path: path, errno: .init(rawValue: errno))
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw EngineError("use images directory", path: path, reason: "not a directory") }
        guard access(path, W_OK) == 0 else { throw EngineError("write to images directory", path: path, errno: .init(rawValue: errno)) }
    }

    /// Records that `name` is being written and returns its full path.
    func track(_ name: String) -> String {
        let p = file(name)
        written.append(p)
        return p
    }

    func writer(_ name: String, _ kind: ImageKind) throws -> ImageWriter {
        do { return try ImageWriter(path: track(name), kind: kind) } catch { throw EngineError.wrap(error, "create image") }
    }

    func write<M: SwiftProtobuf.Message>(_ name: String, _ kind: ImageKind, _ entries: [M]) throws {
        let w = try writer(name, kind)
        do {
            for e in entries { try w.write(e) }
            try w.close()
        } catch {
            throw EngineError.wrap(error, "write image \(name)")
        }
    }

    func removeWritten() {
        for p in written { unlink(p) }
        written = []
    }

    // MARK: reading

    func exists(_ name: String) -> Bool { access(file(name), F_OK) == 0 }

    func reader(_ name: String, _ kind: ImageKind) throws -> ImageReader {
        do { return try ImageReader(path: file(name), expect: kind) } catch { throw EngineError.wrap(error, "open image") }
    }

    /// Every entry of an image, which must exist.
    func readAll<M: SwiftProtobuf.Message>(_ name: String, _ kind: ImageKind, as _: M.Type) throws -> [M] {
        let r = try reader(name, kind)
        var out: [M] = []
        do {
            while let m = try r.next(M.self) { out.append(m) }
        } catch {
            throw EngineError.wrap(error, "read image \(name)")
        }
        return out
    }

    /// The single entry of an image that holds exactly one.
    func readOne<M: SwiftProtobuf.Message>(_ name: String, _ kind: ImageKind, as t: M.Type) throws -> M {
        let all = try readAll(name, kind, as: t)
        guard all.count == 1 else {
            throw EngineError("read image", path: file(name), reason: "expected one \(M.protoMessageName) entry, found \(all.count)")
        }
        return all[0]
    }
}
