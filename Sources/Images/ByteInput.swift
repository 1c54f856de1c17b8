import Glibc
import SystemPackage

/// A forward-only byte stream over an fd or an in-memory buffer, read through a
/// fixed-size window so that a file of any size costs the same memory.
struct ByteInput {
    private enum Backing {
        case fd(FileDescriptor, owned: Bool)
        case memory
    }

    private var backing: Backing
    private var window: [UInt8]
    private var head = 0  // next unread byte in window
    private var tail = 0  // end of valid bytes in window
    /// File offset of window[head].
    private(set) var offset: UInt64
    /// Total size when known (regular files, memory), for early length checks.
    let size: UInt64?
    private var seekable: Bool

    static let windowSize = 64 * 1024

    init(fd: FileDescriptor, owned: Bool) {
        backing = .fd(fd, owned: owned)
        window = [UInt8](repeating: 0, count: ByteInput.windowSize)
        var st = stat()
        if fstat(fd.rawValue, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG {
            let pos = lseek(fd.rawValue, 0, SEEK_CUR)
            offset = pos >= 0 ? UInt64(pos) : 0
            size = UInt64(st.st_size)
            seekable = pos >= 0
        } else {
            offset = 0
            size = nil
            seekable = false
        }
    }

    init(bytes: [UInt8]) {
        backing = .memory
        window = bytes
        tail = bytes.count
        offset = 0
        size = UInt64(bytes.count)
        seekable = false
    }

    /// Bytes left before the end of the file, if the size is known.
    var remaining: UInt64? { size.map { $0 >= offset ? $0 - offset : 0 } }

    func close() {
        if case .fd(let fd, true) = backing { try? fd.close() }
    }

    /// Tops up the window; returns false at end of input.
    private mutating func refill() throws(Errno) -> Bool {
        guard case .fd(let fd, _) = backing else { return false }
        if head == tail { head = 0; tail = 0 }
        if head > 0 && tail == window.count {
            window.withUnsafeMutableBytes { p in
                let n = tail - head
                p.baseAddress!.copyMemory(from: p.baseAddress! + head, byteCount: n)
            }
            tail -= head
            head = 0
        }
        let start = tail
        let n: Int
        do {
            n = try window.withUnsafeMutableBytes { p in
                try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: p[start...]), retryOnInterrupt: true)
            }
        } catch let e as Errno {
            throw e
        } catch {
            throw Errno.ioError
        }
        tail += n
        return n > 0
    }

    /// True when no byte is left.
    mutating func atEnd() throws(Errno) -> Bool {
        if head < tail { return false }
        return try !refill()
    }

    /// Copies exactly `dst.count` bytes, or as many as there are; returns how many.
    mutating func read(into dst: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        var done = 0
        while done < dst.count {
            if head == tail {
                // Large reads bypass the window once it is drained.
                if case .fd(let fd, _) = backing, dst.count - done >= window.count {
                    let n: Int
                    do {
                        n = try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: dst[done...]), retryOnInterrupt: true)
                    } catch let e as Errno { throw e } catch { throw Errno.ioError }
                    if n == 0 { break }
                    done += n
                    offset += UInt64(n)
                    continue
                }
                if try !refill() { break }
            }
            let n = min(tail - head, dst.count - done)
            window.withUnsafeBytes { src in
                dst.baseAddress!.advanced(by: done).copyMemory(from: src.baseAddress! + head, byteCount: n)
            }
            head += n
            done += n
            offset += UInt64(n)
        }
        return done
    }

    /// Reads up to `count` bytes into a new array (shorter only at end of input).
    mutating func read(count: Int) throws(Errno) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        var failure: Errno?
        out.withUnsafeMutableBytes { p in
            do { got = try read(into: p) } catch { failure = (error as? Errno) ?? .ioError }
        }
        if let failure { throw failure }
        if got < count { out.removeLast(count - got) }
        return out
    }

    /// Skips `count` bytes; returns how many were skipped (fewer only at end).
    mutating func skip(_ count: UInt64) throws(Errno) -> UInt64 {
        var left = count
        let inWindow = UInt64(tail - head)
        let fromWindow = min(left, inWindow)
        head += Int(fromWindow)
        offset += fromWindow
        left -= fromWindow
        if left == 0 { return count }
        if seekable, case .fd(let fd, _) = backing, let rem = remaining {
            let step = min(left, rem)
            _ = lseek(fd.rawValue, off_t(offset + step), SEEK_SET)
            offset += step
            return count - left + step
        }
        var scratch = [UInt8](repeating: 0, count: min(Int(clamping: left), window.count))
        while left > 0 {
            let want = Int(min(left, UInt64(scratch.count)))
            var n = 0
            var failure: Errno?
            scratch.withUnsafeMutableBytes { p in
                do { n = try read(into: UnsafeMutableRawBufferPointer(rebasing: p[..<want])) } catch {
                    failure = (error as? Errno) ?? .ioError
                }
            }
            if let failure { throw failure }
            if n == 0 { break }
            left -= UInt64(n)
        }
        return count - left
    }
}
