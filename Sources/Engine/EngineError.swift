import SystemPackage

/// A dump or restore failure, phrased for the user: what we could not do, to which task/fd/file, and why.
public struct EngineError: Error, CustomStringConvertible {
    public var operation: String
    public var pid: Int32?
    public var fd: Int32?
    public var path: String?
    public var errno: Errno?
    public var reason: String?

    public init(_ operation: String, pid: Int32? = nil, fd: Int32? = nil, path: String? = nil,
                errno: Errno? = nil, reason: String? = nil) {
        self.operation = operation
        self.pid = pid
        self.fd = fd
        self.path = path
        self.errno = errno
        self.reason = reason
    }

    public var description: String {
        var s = operation
        var subject: [String] = []
        if let pid { subject.append("pid \(pid)") }
        if let fd { subject.append("fd \(fd)") }
        if let path { subject.append(path) }
        if !subject.isEmpty { s += " (\(subject.joined(separator: ", ")))" }
        if let reason { s += ": \(reason)" }
        if let errno { s += ": \(errno.description)" }
        return s
    }

    /// Wraps any lower-level error (Compel, Images, /proc) with what we were doing.
    public static func wrap(_ error: any Error, _ operation: String, pid: Int32? = nil) -> EngineError {
        if let e = error as? EngineError { return e }
        return EngineError(operation, pid: pid, reason: "\(error)")
    }
}
