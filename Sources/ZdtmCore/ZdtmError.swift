/// Errors a user can cause or act on; each prints as one line.
public enum ZdtmError: Error, CustomStringConvertible, Equatable {
    case usage(String)
    case badDesc(file: String, why: String)
    case unknownTest(String)
    case io(path: String, op: String, errno: Int32)
    case build(String)
    case setup(String)

    public var description: String {
        switch self {
        case .usage(let s): return s
        case .badDesc(let f, let why): return "malformed test description \(f): \(why)"
        case .unknownTest(let n): return "unknown test '\(n)' (see `zdtm list`)"
        case .io(let p, let op, let e): return "\(op) \(p): \(errnoText(e))"
        case .build(let s): return "build failed: \(s)"
        case .setup(let s): return s
        }
    }
}
