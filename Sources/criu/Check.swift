import ArgumentParser
import Engine

/// `criu check`: probe the running kernel for what dump and restore rely on.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check whether the kernel supports what checkpoint/restore needs.",
        discussion: "Without options, prints warnings and errors for missing features, then 'Looks good.' when nothing required is missing. '--feature list' names every feature."
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("feature"), help: "Check only this feature (repeatable); 'list' names them all.")
    var features: [String] = []

    @Flag(name: [.customLong("all"), .customLong("extra"), .customLong("experimental")],
          help: "Print every probe with its result.")
    var all = false

    @Flag(name: .customShort("v"), help: "Print every probe with its result.")
    var verbose = false

    func validate() throws {
        for name in features where name != "list" && KernelFeatures.named(name) == nil {
            throw ValidationError("unknown feature '\(name)'; 'criu check --feature list' names the known ones")
        }
    }

    func run() throws {
        if features.contains("list") {
            for f in KernelFeatures.all { print(f.name) }
            for c in EngineCapabilities.all { print(c.name) }
            return
        }
        if !features.isEmpty {
            try checkNamed()
            return
        }
        var missingRequired: [String] = []
        for f in KernelFeatures.all {
            let r = f.probe()
            if all || verbose {
                print("\(f.name.padding(24)) \(r.isPresent ? "yes" : "NO ")  \(r.detail)")
            } else if !r.isPresent {
                print("\(f.required ? "Error" : "Warn ") (\(f.name)): \(f.summary): \(r.detail)")
            }
            if f.required && !r.isPresent { missingRequired.append(f.name) }
        }
        if all || verbose {
            for c in EngineCapabilities.all {
                print("\(c.name.padding(24)) \(c.supported ? "yes" : "NO ")  \(c.summary)")
            }
        }
        if missingRequired.isEmpty {
            print("Looks good.")
        } else {
            throw CheckFailed(message: "missing required kernel features: \(missingRequired.joined(separator: ", "))")
        }
    }

    private func checkNamed() throws {
        var missing: [String] = []
        for name in features {
            guard let f = KernelFeatures.named(name) else { continue }
            let r = f.probe()
            if r.isPresent {
                print("\(name) is supported (\(r.detail))")
            } else {
                print("\(name) is not supported: \(r.detail)")
                missing.append(name)
            }
        }
        if !missing.isEmpty {
            throw CheckFailed(message: "feature not supported: \(missing.joined(separator: ", "))")
        }
    }
}

struct CheckFailed: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
