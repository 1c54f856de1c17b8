import Foundation
import Glibc

/// Builds the C test programs with cc into buildDir, only what is out of date (by mtime), several
/// compilers at once.
public struct Builder: Sendable {
    public var zdtmDir: String
    public var buildDir: String
    public var jobs: Int
    public var cc: String

    /// __FILE__ relative to Tests/zdtm keeps FAIL lines short and the same on every machine.
    var cflags: [String] {
        ["-O2", "-g", "-Wall", "-Wno-missing-field-initializers", "-Werror=implicit-function-declaration",
         "-fmacro-prefix-map=\(zdtmDir)/="]
    }

    public init(zdtmDir: String, buildDir: String, jobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)) {
        self.zdtmDir = zdtmDir
        self.buildDir = buildDir
        self.jobs = jobs
        self.cc = ProcessInfo.processInfo.environment["CC"] ?? "cc"
    }

    public func binary(for test: TestCase) -> String { "\(buildDir)/bin/\(test.name)" }
    public var nsLauncher: String { "\(buildDir)/bin/zdtm_ns" }

    static func mtime(_ path: String) -> Double? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
    }

    static func outOfDate(_ target: String, inputs: [String]) -> Bool {
        guard let t = mtime(target) else { return true }
        return inputs.contains { (mtime($0) ?? .infinity) > t }
    }

    /// The compiler writes `scratch`, renamed to `output` when done: a concurrent run never executes or
    /// links a half-written file.
    struct Job {
        var output: String
        var argv: [String]
        var inputs: [String]
        var scratch: String { output + ".tmp" }
    }

    func resolveCC() throws -> String {
        if cc.hasPrefix("/") { return cc }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(cc)"
            if access(p, X_OK) == 0 { return p }
        }
        throw ZdtmError.build("no C compiler '\(cc)' in PATH (install gcc)")
    }

    /// Builds the library, the namespace launcher and the given tests. A test that fails to compile
    /// is returned with its compiler output instead of aborting the others.
    public func build(_ tests: [TestCase]) throws -> [String: String] {
        let compiler = try resolveCC()
        // A change of compiler or flags rebuilds everything: mtimes cannot see it.
        let stamp = "\(buildDir)/flags", flags = ([compiler] + cflags).joined(separator: " ")
        if Proc.read(stamp) != flags {
            try? FileManager.default.removeItem(atPath: "\(buildDir)/bin")
            try? FileManager.default.removeItem(atPath: "\(buildDir)/obj")
            try FileManager.default.createDirectory(atPath: buildDir, withIntermediateDirectories: true)
            try flags.write(toFile: stamp, atomically: true, encoding: .utf8)
        }
        let lib = "\(zdtmDir)/lib"
        let headers = ((try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? [])
            .filter { $0.hasSuffix(".h") }.map { "\(lib)/\($0)" }
        let libSources = ["test.c", "data.c", "waiter.c"].map { "\(lib)/\($0)" }
        var libJobs: [Job] = []
        var objects: [String] = []
        for src in libSources {
            let obj = "\(buildDir)/obj/" + (src as NSString).lastPathComponent.replacingOccurrences(of: ".c", with: ".o")
            objects.append(obj)
            libJobs.append(Job(output: obj, argv: [compiler] + cflags + ["-I", lib, "-c", src, "-o", obj],
                               inputs: [src] + headers))
        }
        libJobs.append(Job(output: nsLauncher, argv: [compiler] + cflags + ["\(lib)/zdtm_ns.c", "-o", nsLauncher],
                           inputs: ["\(lib)/zdtm_ns.c"]))
        let libErrors = try runJobs(libJobs)
        if let (out, msg) = libErrors.first {
            throw ZdtmError.build("\(out): \(msg.split(separator: "\n").prefix(5).joined(separator: " | "))")
        }
        let testJobs = tests.map { t in
            Job(output: binary(for: t),
                argv: [compiler] + cflags + ["-I", lib, t.source] + objects + ["-o", binary(for: t), "-pthread"],
                inputs: [t.source] + headers + objects)
        }
        var failed: [String: String] = [:]
        let errs = try runJobs(testJobs)
        for t in tests { if let e = errs[binary(for: t)] { failed[t.name] = e } }
        return failed
    }

    /// Runs the out-of-date jobs, `jobs` at a time; returns output path -> compiler messages for failures.
    func runJobs(_ all: [Job]) throws -> [String: String] {
        let todo = all.filter { Builder.outOfDate($0.output, inputs: $0.inputs) }
        for j in todo {
            try FileManager.default.createDirectory(atPath: (j.output as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
        }
        var failures: [String: String] = [:]
        var running: [(pid_t, Job, String)] = []
        var queue = todo[...]
        while !queue.isEmpty || !running.isEmpty {
            while running.count < jobs, var j = queue.popFirst() {
                let unique = "\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
                let log = j.output + ".\(unique).log"
                let scratch = j.scratch + "." + unique
                j.argv = j.argv.map { $0 == j.output ? scratch : $0 }
                running.append((try Proc.spawn(j.argv, log: log), j, log))
            }
            let (pid, j, log) = running.removeFirst()
            let ex = Proc.wait(pid, timeout: 300)
            let msg = Proc.read(log) ?? ""
            let scratch = j.argv.first { $0.hasPrefix(j.scratch + ".") } ?? j.scratch
            if ex.ok {
                if rename(scratch, j.output) != 0 { failures[j.output] = "rename \(scratch): \(errnoText(errno))" }
                unlink(log)
            } else {
                unlink(scratch)
                // The messages stay next to the output for the report.
                rename(log, j.output + ".log")
                failures[j.output] = msg.isEmpty ? "cc \(ex)" : msg
            }
        }
        return failures
    }
}
