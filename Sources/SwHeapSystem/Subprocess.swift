// The one way swheap starts a program: posix_spawn, with the child's standard streams,
// environment and signal state chosen by the caller. `swheap run`, the llvm-symbolizer
// coprocess and the test harness all start their children here.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public struct Subprocess: Sendable {
    public let pid: pid_t

    /// How a child ended.
    public enum Status: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
    }

    /// What the child starts with; by default everything is inherited.
    public struct Options {
        /// NAME=value entries; nil inherits ours.
        public var environment: [String]?
        /// Descriptors to become the child's 0, 1 and 2; nil inherits ours.
        public var standardInput: Int32?
        public var standardOutput: Int32?
        public var standardError: Int32?
        /// Signals reset to their default action, and the signal mask, in the child.
        public var signalDefaults: sigset_t?
        public var signalMask: sigset_t?

        public init(environment: [String]? = nil, standardInput: Int32? = nil, standardOutput: Int32? = nil,
                    standardError: Int32? = nil, signalDefaults: sigset_t? = nil, signalMask: sigset_t? = nil) {
            self.environment = environment; self.standardInput = standardInput
            self.standardOutput = standardOutput; self.standardError = standardError
            self.signalDefaults = signalDefaults; self.signalMask = signalMask
        }
    }

    /// The program could not be started.
    public struct SpawnError: SwHeapError {
        public var program: String
        public var code: Int32
        /// 127 and 126, what shells exit with for "not found" and "cannot execute".
        public var exitCode: Int32 { code == ENOENT ? 127 : 126 }
        public var description: String { "cannot run '\(program)': \(errnoText(code))" }
    }

    /// Starts `arguments[0]` (searched on PATH when it has no slash) with `arguments`.
    /// Descriptors of ours opened with O_CLOEXEC (as all of swheap's are) do not leak into it.
    public static func spawn(_ arguments: [String], options: Options = Options()) throws(SpawnError) -> Subprocess {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags: Int32 = 0
        if var defaults = options.signalDefaults {
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            flags |= Int32(POSIX_SPAWN_SETSIGDEF)
        }
        if var mask = options.signalMask {
            posix_spawnattr_setsigmask(&attributes, &mask)
            flags |= Int32(POSIX_SPAWN_SETSIGMASK)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(options.standardInput, 0), (options.standardOutput, 1), (options.standardError, 2)] {
            if let fd { posix_spawn_file_actions_adddup2(&actions, fd, Int32(target)) }
        }

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = options.environment.map { $0.map { strdup($0) } + [nil] }
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = envp.map { posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, $0) }
            ?? posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw SpawnError(program: arguments[0], code: result) }
        return Subprocess(pid: pid)
    }

    /// Waits for the child to end (retrying when a signal interrupts the wait).
    public func wait() throws(SystemError) -> Status {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno == EINTR { continue }
            throw SystemError(path: "process \(pid)", reason: "cannot wait: \(errnoText())")
        }
        return Self.status(status)
    }

    /// The status if the child has ended (it is then reaped), nil while it runs.
    public func poll() -> Status? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? Self.status(status) : nil
    }

    /// Sends `signal` to the child.
    public func send(_ signal: Int32) { kill(pid, signal) }

    /// WIFEXITED / WTERMSIG are C macros, which Swift does not import.
    private static func status(_ status: Int32) -> Status {
        let terminatingSignal = status & 0x7f
        if terminatingSignal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(terminatingSignal)
    }
}

/// A pipe whose two ends are closed on exec (a child gets an end only through `Options`).
public func makePipe() throws(SystemError) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw SystemError(path: "pipe", reason: errnoText()) }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (fds[0], fds[1])
}
