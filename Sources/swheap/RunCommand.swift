// `swheap run`: runs a program with libswheap.so preloaded and exits the way the program did.

import ArgumentParser
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program under the heap profiler.",
        discussion: """
            Dumps go to --dir (default ./swheap.<program>.<pid>). Options not given here are left \
            to the shim's defaults (or to SWHEAP_* variables already in the environment).
            """)

    @OptionGroup var profiling: ProfilingOptions

    @Argument(parsing: .captureForPassthrough,
              help: ArgumentHelp("The program and its arguments (after `--`, or from the first non-option).", valueName: "command"))
    var command: [String] = []

    /// The program and its arguments, without the `--` that may separate them from our options.
    private var programArguments: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    func validate() throws {
        // captureForPassthrough also captures --help and options we do not know; handle those
        // as ArgumentParser would.
        if command.first == "--help" || command.first == "-h" { throw CleanExit.helpRequest(self) }
        if let first = command.first, first != "--", first.hasPrefix("-") {
            throw ValidationError("Unknown option '\(first)'")
        }
        if programArguments.isEmpty { throw ValidationError("Missing the program to run (swheap run -- PROGRAM ARGS...).") }
    }

    func run() throws {
        let shim = try ShimLocation.find()
        var environment = ProcessEnvironment.current()
        environment.prepend(shim, to: "LD_PRELOAD", separator: ":")
        if let rate = profiling.rate { environment["SWHEAP_RATE"] = String(rate) }
        if let interval = profiling.interval { environment["SWHEAP_INTERVAL"] = String(interval) }
        if let dir = profiling.dir { environment["SWHEAP_DIR"] = dir }
        if let depth = profiling.depth { environment["SWHEAP_DEPTH"] = String(depth) }
        if let maxBytes = profiling.maxBytes { environment["SWHEAP_MAX_BYTES"] = String(maxBytes) }
        if let scanInterval = profiling.scanInterval { environment["SWHEAP_SCAN_INTERVAL"] = String(scanInterval) }

        let status = try ChildProcess.run(programArguments, environment: environment)
        switch status {
        case .exited(let code):
            throw ExitCode(code)
        case .signaled(let signal):
            ChildProcess.dieLikeChild(signal: signal)
        }
    }
}

/// Where libswheap.so lives: next to the swheap executable.
enum ShimLocation {
    static let fileName = "libswheap.so"

    static func find() throws -> String {
        let executable = try ownExecutable()
        let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let shim = (directory.isEmpty ? "" : directory) + "/" + fileName
        guard access(shim, R_OK) == 0 else {
            throw CommandFailure(message: "\(fileName) not found next to \(executable) (looked for \(shim)); build it with scripts/build and keep it beside the swheap binary")
        }
        return shim
    }

    private static func ownExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else {
            throw CommandFailure(message: "cannot resolve /proc/self/exe: \(errnoText())")
        }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The environment as ordered NAME=value entries (order and duplicates are kept as given).
struct ProcessEnvironment {
    var entries: [String]

    static func current() -> ProcessEnvironment {
        var entries: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            entries.append(String(cString: entry))
            pointer += 1
        }
        return ProcessEnvironment(entries: entries)
    }

    subscript(name: String) -> String? {
        get {
            let prefix = name + "="
            return entries.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
        set {
            let prefix = name + "="
            entries.removeAll { $0.hasPrefix(prefix) }
            if let newValue { entries.append(prefix + newValue) }
        }
    }

    /// Puts `value` first in a list variable such as LD_PRELOAD, keeping what was there.
    mutating func prepend(_ value: String, to name: String, separator: String) {
        if let existing = self[name], !existing.isEmpty {
            self[name] = value + separator + existing
        } else {
            self[name] = value
        }
    }
}

/// Running the program, forwarding signals to it while it runs, and mirroring how it ended.
enum ChildProcess {
    /// Signals that would stop swheap but should stop the program instead.
    static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    static func run(_ arguments: [String], environment: ProcessEnvironment) throws -> Subprocess.Status {
        // Block the forwarded signals until the child's pid is known, so none is lost between
        // spawning and installing the handlers; the child starts with them unblocked and default.
        // A signal swheap inherited as ignored (nohup, `&` in scripts) stays ignored for both.
        let signals = forwardedSignals.filter { !isIgnored($0) }
        var forwarded = sigset_t()
        sigemptyset(&forwarded)
        for signal in signals { sigaddset(&forwarded, signal) }
        var previousMask = sigset_t()
        sigprocmask(SIG_BLOCK, &forwarded, &previousMask)
        defer { sigprocmask(SIG_SETMASK, &previousMask, nil) }

        let child = try Subprocess.spawn(arguments, options: .init(
            environment: environment.entries, signalDefaults: forwarded, signalMask: previousMask))
        forwardTarget = child.pid
        installForwarders(signals)
        sigprocmask(SIG_SETMASK, &previousMask, nil)
        return try child.wait()
    }

    private static func isIgnored(_ signal: Int32) -> Bool {
        var current = sigaction()
        sigaction(signal, nil, &current)
        return current.sa_flags & SA_SIGINFO == 0
            && unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }

    private static func installForwarders(_ signals: [Int32]) {
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = forwardSignal
            action.sa_flags = SA_SIGINFO | SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }

    /// Ends swheap with the signal that ended the program, so the caller (a shell, a test
    /// harness) sees the same. Core dumps are disabled first: the program's core, if any,
    /// is the interesting one.
    static func dieLikeChild(signal: Int32) -> Never {
        fflush(nil)  // all C streams
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        getrlimit(RLIMIT_CORE_VALUE, &noCore)
        noCore.rlim_cur = 0
        setrlimit(RLIMIT_CORE_VALUE, &noCore)
        Glibc.signal(signal, SIG_DFL)
        var only = sigset_t()
        sigemptyset(&only)
        sigaddset(&only, signal)
        sigprocmask(SIG_UNBLOCK, &only, nil)
        raise(signal)
        Glibc.exit(128 + signal)  // signals that cannot kill us (SIGCHLD-like defaults)
    }

    private static var RLIMIT_CORE_VALUE: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_CORE.rawValue) }
}

/// The pid signals are forwarded to; written once before the handlers are installed.
nonisolated(unsafe) private var forwardTarget: pid_t = 0

/// Signals the terminal sends (si_code SI_KERNEL) already reach the program through the
/// foreground process group; forwarding those too would deliver them twice.
private func forwardSignal(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _: UnsafeMutableRawPointer?) {
    let fromKernel = info?.pointee.si_code == 0x80  // SI_KERNEL
    if forwardTarget > 0 && !fromKernel { kill(forwardTarget, signal) }
}
