import ArgumentParser
import Foundation
import Images

@main
struct Crit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crit",
        abstract: "Decode, encode and explain CRIU image files.",
        subcommands: [Decode.self, Encode.self, Show.self, Info.self, Explore.self])

    /// Runs `body`, turning any failure into one line on stderr and exit status 1.
    static func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as ImageError {
            fail(e.description)
        } catch let e as CritError {
            fail(e.description)
        } catch let e as JSONParseError {
            fail(e.description)
        } catch {
            fail(String(describing: error))
        }
    }

    static func fail(_ line: String) -> Never {
        FileHandle.standardError.write(Data(("crit: " + line + "\n").utf8))
        Foundation.exit(1)
    }
}

/// Buffered text output to a file or stdout.
final class TextOut {
    private let handle: FileHandle
    private var buf = Data()
    private let path: String

    init(path: String?) throws {
        self.path = path ?? "stdout"
        if let path {
            // Opened in place, never replaced: FileManager.createFile writes a temporary file and renames it
            // over the target, which turns `-o /dev/null` into a regular file.
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw CritError("\(path): cannot create: \(String(cString: strerror(errno)))")
            }
            handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        } else {
            handle = FileHandle.standardOutput
        }
    }

    func write(_ s: String) throws {
        buf.append(contentsOf: s.utf8)
        if buf.count > 1 << 20 { try flush() }
    }

    func flush() throws {
        do { try handle.write(contentsOf: buf) } catch { throw CritError("\(path): write failed: \(error)") }
        buf.removeAll(keepingCapacity: true)
    }
}

func decode(input: String, output: String?, pretty: Bool) throws {
    let reader = try openImage(input)
    let out = try TextOut(path: output)
    try ImageToJSON(pretty: pretty).convert(reader) { try out.write($0) }
    try out.write("\n")
    try out.flush()
}

/// Opens an image, explaining raw pages files instead of calling them bad magic.
func openImage(_ path: String) throws -> ImageReader {
    let base = (path as NSString).lastPathComponent
    if base.hasPrefix("pages-") && base.hasSuffix(".img") {
        throw CritError("\(path): raw page contents, not entries; try 'crit x DIR rss'")
    }
    let r = try ImageReader(path: path)
    if r.kind.message == nil {
        throw CritError("\(path): \(r.kind.name) images are recognised but their entries are not modelled")
    }
    return r
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Convert an image to JSON.")
    @Option(name: .shortAndLong, help: "Image file to read.") var input: String
    @Option(name: .shortAndLong, help: "Where to write the JSON (default stdout).") var output: String?
    @Flag(help: "Indented output, with some fields in hex as CRIU's crit prints them.") var pretty = false

    func run() throws {
        try Crit.guarded { try decode(input: input, output: output, pretty: pretty) }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an image as pretty JSON.")
    @Argument(help: "Image file.") var file: String

    func run() throws {
        try Crit.guarded { try decode(input: file, output: nil, pretty: true) }
    }
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Convert JSON back to an image.")
    @Option(name: .shortAndLong, help: "JSON file to read.") var input: String
    @Option(name: .shortAndLong, help: "Image file to write.") var output: String

    func run() throws {
        try Crit.guarded {
            guard let data = FileManager.default.contents(atPath: input) else {
                throw CritError("\(input): cannot read: \(String(cString: strerror(errno)))")
            }
            try JSONToImage().convert(json: [UInt8](data), to: output)
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an image's kind and entry count.")
    @Argument(help: "Image file.") var file: String

    func run() throws {
        try Crit.guarded {
            let reader = try openImage(file)
            var entries = 0
            var payload: UInt64 = 0
            while let e = try reader.nextEntry() {
                entries += 1
                switch e.extra {
                case .bytes(let b)?: payload += UInt64(b.count)
                case .tcpQueues(let i, let o)?: payload += UInt64(i.count + o.count)
                default: break
                }
            }
            var s = "{\n    \"magic\": "
            JSONText.quote(reader.kind.name, into: &s)
            s += ",\n    \"count\": \(reader.kind.hasPagemapHead ? entries - 1 : entries)"
            s += ",\n    \"message\": "
            JSONText.quote(reader.kind.messageName, into: &s)
            s += ",\n    \"bytes\": \(reader.offset)"
            if payload > 0 { s += ",\n    \"payload_bytes\": \(payload)" }
            print(s + "\n}")
        }
    }
}
