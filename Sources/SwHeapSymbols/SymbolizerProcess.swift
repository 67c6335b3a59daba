// A long-lived llvm-symbolizer fed through pipes. Requests are written on a helper thread while
// the caller reads replies, so neither side ever waits for a full pipe held by the other.
import Foundation
import SwHeapSystem
#if canImport(Glibc)
import Glibc
#endif

final class SymbolizerProcess {
    private let child: Subprocess
    private var requestFD: Int32
    private var replyFD: Int32
    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
    private var lineStart = 0
    private var filled = 0
    private(set) var isAlive = true
    /// The child has been waited for.
    private var reaped = false

    /// Starts `executable`; throws if it cannot be run.
    init(executable: String, arguments: [String]) throws {
        // A symbolizer that dies while we write must give us EPIPE, not kill the CLI.
        signal(SIGPIPE, SIG_IGN)
        let requests = try makePipe(), replies = try makePipe()
        // Warnings about unreadable objects are expected: the child's stderr goes nowhere.
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer {
            // The child's ends, and /dev/null, are the child's alone from here.
            close(requests.read); close(replies.write)
            if null >= 0 { close(null) }
        }
        do {
            child = try Subprocess.spawn([executable] + arguments, options: .init(
                standardInput: requests.read, standardOutput: replies.write, standardError: null >= 0 ? null : nil))
        } catch {
            close(requests.write); close(replies.read)
            throw error
        }
        requestFD = requests.write
        replyFD = replies.read
    }

    deinit {
        shutDown()
        buffer.deallocate()
    }

    /// Sends `requests` (newline-terminated lines) and calls `onReply` with each reply line in
    /// order; `onReply` returns false to abandon the batch. Returns the number of replies read
    /// (fewer than `count` if the process died or the batch was abandoned, which also stops
    /// the process: the remaining replies could no longer be matched to requests).
    func exchange(_ requests: [UInt8], count: Int, onReply: (Int, UnsafeRawBufferPointer) -> Bool) -> Int {
        guard isAlive, count > 0 else { return 0 }
        let fd = requestFD
        let written = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Self.writeAll(requests, to: fd)
            written.signal()
        }
        var received = 0
        while received < count, let line = nextLine() {
            guard onReply(received, line) else { break }
            received += 1
        }
        if received < count, isRunning { child.send(SIGTERM) }   // unblocks the writer (EPIPE)
        written.wait()
        if received < count { shutDown() }
        return received
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// The next reply line without its newline, or nil at end of output. The bytes are valid
    /// until the next call.
    private func nextLine() -> UnsafeRawBufferPointer? {
        var searchFrom = lineStart
        while true {
            // memchr over a raw buffer: replies run to megabytes.
            if searchFrom < filled, let found = memchr(buffer.baseAddress! + searchFrom, 0x0A, filled - searchFrom) {
                let newline = buffer.baseAddress!.distance(to: UnsafeMutableRawPointer(found))
                let line = UnsafeRawBufferPointer(rebasing: buffer[lineStart..<newline])
                lineStart = newline + 1
                return line
            }
            // Move the partial line to the front, grow if a single line fills the buffer.
            let partial = filled - lineStart
            if lineStart > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + lineStart, byteCount: partial)
                lineStart = 0
                filled = partial
            }
            if filled == buffer.count {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 1)
                bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: filled)
                buffer.deallocate()
                buffer = bigger
            }
            searchFrom = filled
            let n = read(replyFD, buffer.baseAddress! + filled, buffer.count - filled)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { isAlive = false; return nil }
            filled += n
        }
    }

    private var isRunning: Bool {
        guard !reaped else { return false }
        if child.poll() != nil { reaped = true }
        return !reaped
    }

    private func shutDown() {
        guard requestFD >= 0 else { return }
        isAlive = false
        close(requestFD)       // EOF on stdin: llvm-symbolizer exits
        requestFD = -1
        if isRunning { child.send(SIGTERM) }
        if !reaped { _ = try? child.wait(); reaped = true }
        close(replyFD)
        replyFD = -1
    }
}
