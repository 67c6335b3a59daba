// Running programs and tools from tests and benchmarks, through the one spawn of SwHeapSystem:
// output goes to files (no pipe can fill up and block the program), a deadline stops a hung
// one, and the environment is ours without any profiler settings unless a test adds them.

import Foundation
import SwHeapSystem

/// How a program ended and what it printed.
public struct RunResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// True when the process ended by a signal (status then holds the signal number).
    public var signalled: Bool
}

/// A tool that failed or did not finish; the description says which and why.
public struct ToolError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A program started in the background.
public final class RunningProgram {
    public let child: Subprocess
    private let program: String
    private let outputPath: String
    private let errorPath: String
    private var ended: Subprocess.Status?

    fileprivate init(child: Subprocess, program: String, outputPath: String, errorPath: String) {
        self.child = child; self.program = program; self.outputPath = outputPath; self.errorPath = errorPath
    }

    deinit {
        if ended == nil { child.send(SIGKILL); _ = try? child.wait() }
        unlink(outputPath); unlink(errorPath)
    }

    public var pid: pid_t { child.pid }

    private func text(_ path: String) -> String {
        String(decoding: (try? FileIO.read(path: path)) ?? [], as: UTF8.self)
    }

    /// What the program has written to stderr so far (a server announcing its port, say).
    public var standardErrorSoFar: String { text(errorPath) }
    /// What the program has written to stdout so far.
    public var standardOutputSoFar: String { text(outputPath) }

    public var isRunning: Bool {
        if ended == nil { ended = child.poll() }
        return ended == nil
    }

    /// Waits for the program to end, killing it after `timeout` seconds.
    public func wait(timeout: TimeInterval = 120) throws -> RunResult {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline {
                child.send(SIGKILL)
                ended = try child.wait()
                throw ToolError("\(program) did not finish within \(Int(timeout)) s")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        switch ended! {
        case .exited(let code):
            return RunResult(status: code, stdout: text(outputPath), stderr: text(errorPath), signalled: false)
        case .signaled(let signal):
            return RunResult(status: signal, stdout: text(outputPath), stderr: text(errorPath), signalled: true)
        }
    }
}

public enum ProgramRunner {
    /// Our environment without LD_PRELOAD and SWHEAP_* settings, then `extra`, then the shim
    /// preloaded when `preload` names it.
    public static func environment(_ extra: [String: String] = [:], preload: String? = nil) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LD_PRELOAD")
        for key in environment.keys where key.hasPrefix("SWHEAP_") { environment.removeValue(forKey: key) }
        environment.merge(extra) { _, new in new }
        if let preload { environment["LD_PRELOAD"] = preload }
        return environment
    }

    /// Starts `program` (a path, or a name found on PATH) with exactly `environment`.
    public static func start(_ program: String, _ arguments: [String] = [],
                             environment: [String: String]) throws -> RunningProgram {
        let capture = NSTemporaryDirectory() + "swheap-run-" + UUID().uuidString
        let outputPath = capture + ".out", errorPath = capture + ".err"
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let error = open(errorPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(output); close(error) }
        guard output >= 0, error >= 0 else { throw ToolError("cannot create \(capture).*: \(errnoText())") }
        let child = try Subprocess.spawn([program] + arguments, options: .init(
            environment: environment.map { $0.key + "=" + $0.value }, standardOutput: output, standardError: error))
        return RunningProgram(child: child, program: program, outputPath: outputPath, errorPath: errorPath)
    }

    /// Runs `program` to its end with our cleaned environment plus `environment`.
    public static func run(_ program: String, _ arguments: [String] = [], environment: [String: String] = [:],
                           preload: String? = nil, timeout: TimeInterval = 120) throws -> RunResult {
        try start(program, arguments, environment: Self.environment(environment, preload: preload))
            .wait(timeout: timeout)
    }

    /// The standard output of a tool that must succeed; a failure throws with its stderr.
    @discardableResult
    public static func output(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let result = try run(tool, arguments, environment: environment)
        guard result.status == 0, !result.signalled else {
            throw ToolError("\(tool) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout
    }

    /// Whether `tool` is on PATH.
    public static func exists(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: $0 + "/" + tool)
        }
    }
}
