import Foundation
import Glibc

public enum Locate {
    /// The package root: the first directory holding Tests/zdtm/lib/zdtmtst.h, looking up from the
    /// current directory and then from the executable (.build/debug/zdtm).
    public static func packageRoot() throws -> String {
        var starts = [FileManager.default.currentDirectoryPath]
        if let exe = Proc.readlink("/proc/self/exe") { starts.append((exe as NSString).deletingLastPathComponent) }
        for s in starts {
            var d = s
            while true {
                if access("\(d)/Tests/zdtm/lib/zdtmtst.h", R_OK) == 0 { return d }
                let up = (d as NSString).deletingLastPathComponent
                if up == d || up.isEmpty { break }
                d = up
            }
        }
        throw ZdtmError.setup("can't find the package (Tests/zdtm) from the current directory or the zdtm executable")
    }

    /// Our own criu: the package's debug build, else its release build.
    public static func defaultCriu(root: String) -> String? {
        ["\(root)/.build/debug/criu", "\(root)/.build/release/criu"].first { access($0, X_OK) == 0 }
    }
}
