// The one way swheap reads a file and the one way it writes one: plain POSIX calls, no
// Foundation, errors as `SystemError` with strerror's text.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum FileIO {
    /// The whole file (or its first `limit` bytes), in one allocation when its size is known.
    /// From byte `offset` on (an append-only log is read again from where the last read ended).
    public static func read(path: String, offset: Int = 0, limit: Int = .max) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemError(path: path, reason: errnoText()) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw SystemError(path: path, reason: errnoText()) }
        if (info.st_mode & S_IFMT) != S_IFREG { throw SystemError(path: path, reason: "not a regular file") }
        // One spare byte so a file that grew since fstat is read whole, not cut short.
        // The buffer is left uninitialised: only the `filled` bytes read are kept.
        if offset > 0 && lseek(fd, off_t(offset), SEEK_SET) < 0 { throw SystemError(path: path, reason: errnoText()) }
        var capacity = limit < Int.max ? limit : max(Int(info.st_size) - offset, 0) + 1
        var bytes: [UInt8] = []
        var filled = 0
        var failure: Int32 = 0
        while failure == 0 {
            if filled == capacity { capacity *= 2 }
            let previous = bytes
            bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                previous.withUnsafeBufferPointer { old in
                    if old.count > 0 { buffer.baseAddress!.initialize(from: old.baseAddress!, count: old.count) }
                }
                while filled < capacity {
                    let n = systemRead(fd, buffer.baseAddress! + filled, capacity - filled)
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 { failure = errno; break }
                    if n == 0 { break }
                    filled += n
                }
                initialized = filled
            }
            if filled < capacity || filled >= limit { break }
        }
        if failure != 0 { throw SystemError(path: path, reason: errnoText(failure)) }
        return bytes
    }

    /// Writes `bytes` under `temporaryName` in the target's directory (created exclusively,
    /// never through a symlink), then renames it over `path`: a reader never sees half a file
    /// and a failure leaves any previous file intact. The error names the path that failed.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, temporaryName: String,
                                       mode: mode_t = 0o644) throws(SystemError) {
        let temporary = directory(of: path) + temporaryName
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        if fd < 0 { throw SystemError(path: temporary, reason: errnoText()) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errnoText()
                close(fd); unlink(temporary)
                throw SystemError(path: temporary, reason: reason)
            }
            written += n
        }
        if close(fd) != 0 {
            let reason = errnoText()
            unlink(temporary)
            throw SystemError(path: temporary, reason: reason)
        }
        if rename(temporary, path) != 0 {
            let reason = errnoText()
            unlink(temporary)
            throw SystemError(path: path, reason: reason)
        }
    }

    /// The same for an output file the user named: the temporary is `.<name>.<our pid>.tmp`
    /// beside it, so two swheap processes writing the same file never share a temporary.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(SystemError) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        try writeAtomically(bytes, to: path, temporaryName: ".\(name).\(getpid()).tmp", mode: mode)
    }

    /// "dir/" for "dir/name", "" for a bare name.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }
}

/// Unbuffered write to fd 2 (the C `stderr` global is not concurrency-safe in Swift 6).
public func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { systemWrite(2, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        bytes = bytes.dropFirst(n)
    }
}

/// strerror's text for `code` (the current errno by default).
public func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
