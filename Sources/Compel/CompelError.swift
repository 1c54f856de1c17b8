import SystemPackage

/// A failed operation on a traced task: which task, what we were doing, and the kernel's reason.
public struct CompelError: Error, CustomStringConvertible, Equatable {
    public let pid: Int32
    public let operation: String
    public let errno: Errno?
    public let detail: String?

    public init(pid: Int32, _ operation: String, errno: Errno? = nil, detail: String? = nil) {
        self.pid = pid
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        var s = "pid \(pid): \(operation) failed"
        if let errno { s += ": \(errno.description) (errno \(errno.rawValue))" }
        if let detail { s += ": \(detail)" }
        return s
    }
}
