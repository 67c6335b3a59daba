// The one error protocol of swheap: every error a user can cause (a bad dump, a missing file,
// an unknown epoch) conforms, and the CLI prints its description as `swheap: error: <line>`.

/// An error whose description is one line a user can act on (it names the file or value).
public protocol SwHeapError: Error, CustomStringConvertible, Sendable {
    /// The exit status of the CLI when this error ends a command; 1 unless said otherwise.
    var exitCode: Int32 { get }
}

extension SwHeapError {
    public var exitCode: Int32 { 1 }
}

/// A system call on a file failed: which path, and the C library's words for why.
public struct SystemError: SwHeapError, Equatable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path; self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
