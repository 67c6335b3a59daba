// Runs fixture programs under the real LD_PRELOAD shim and reads back what it wrote.
// The tests need .build/release/{swheap,libswheap.so}: scripts/test builds them first (or run
// scripts/build yourself before `swift test`); every test that needs them says so when missing.
// Fixtures are compiled here with cc, c++ and swiftc from PATH.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

struct FunctionRange {
    var name: String
    var start: UInt64
    var end: UInt64
}

enum Harness {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static var release: URL { root.appendingPathComponent(".build/release") }
    static var shim: String { release.appendingPathComponent("libswheap.so").path }
    static var swheap: String { release.appendingPathComponent("swheap").path }
    static var fixtures: URL { root.appendingPathComponent("Tests/Fixtures") }

    static func requireBuild() throws {
        for path in [shim, swheap] where !FileManager.default.isExecutableFile(atPath: path)
            && !FileManager.default.fileExists(atPath: path) {
            throw HarnessError("\(path) is missing: run scripts/build (scripts/test does) before the tests")
        }
    }

    /// A fresh directory for one test's binaries and dumps.
    static func scratch(_ name: String = #function) throws -> URL {
        URL(fileURLWithPath: try Scratch.directory(name))
    }

    /// Compiles Tests/Fixtures/<file> with debug info and frame pointers.
    static func compile(_ file: String, into dir: URL, extraFlags: [String] = []) throws -> String {
        let source = fixtures.appendingPathComponent(file).path
        let output = dir.appendingPathComponent((file as NSString).deletingPathExtension).path
        let compiler = file.hasSuffix(".cpp") ? "c++" : "cc"
        let flags = ["-O1", "-g", "-fno-omit-frame-pointer", "-pthread", source, "-o", output] + extraFlags
        let result = try run(compiler, flags, environment: [:])
        guard result.status == 0 else { throw HarnessError("\(compiler) \(file) failed:\n\(result.stderr)") }
        return output
    }

    /// Compiles the Swift fixture Tests/Fixtures/<file> with debug info, unoptimised.
    static func compileSwift(_ file: String, into dir: URL) throws -> String {
        let output = dir.appendingPathComponent((file as NSString).deletingPathExtension).path
        let result = try run("swiftc", ["-g", "-Onone", fixtures.appendingPathComponent(file).path, "-o", output],
                             environment: [:])
        guard result.status == 0 else { throw HarnessError("swiftc \(file) failed:\n\(result.stderr)") }
        return output
    }

    /// Runs a program (PATH is searched) and collects its output; `preload` puts the shim in.
    static func run(_ program: String, _ arguments: [String] = [], environment: [String: String],
                    preload: Bool = false, timeout: TimeInterval = 120) throws -> RunResult {
        try ProgramRunner.run(program, arguments, environment: environment, preload: preload ? shim : nil,
                              timeout: timeout)
    }

    /// Skips the calling test, saying why, when `go` (for `go tool pprof`) is not on PATH.
    static func requireGo() throws {
        guard ProgramRunner.exists("go") else {
            print("SKIPPED: go is not installed, so `go tool pprof` cannot check the profile")
            throw XCTSkip("go is not installed: cannot run `go tool pprof`")
        }
    }

    /// The output of `go tool pprof ARGUMENTS`, which must succeed. A private cache keeps go
    /// from writing into $HOME; no binary lookups over the network.
    static func goToolPprof(_ arguments: [String]) throws -> String {
        try ProgramRunner.output("go", ["tool", "pprof"] + arguments, environment: [
            "GOCACHE": NSTemporaryDirectory() + "swheap-gocache", "PPROF_TMPDIR": NSTemporaryDirectory()])
    }

    /// Runs `program` under the shim writing dumps to `dumps`, then loads them.
    /// `swheap serve DIR` on a free loopback port, once it says where it listens: the
    /// server (it ends with the test) and its port.
    static func startServe(_ dumps: String) throws -> (server: RunningProgram, port: Int) {
        let server = try ProgramRunner.start(swheap, ["serve", dumps, "--listen", "127.0.0.1:0"],
                                             environment: ProgramRunner.environment())
        let port = try waitFor("swheap serve to listen", seconds: 30) { () -> Int? in
            guard let range = server.standardErrorSoFar.range(of: #"http://127\.0\.0\.1:\d+"#, options: .regularExpression) else { return nil }
            return Int(server.standardErrorSoFar[range].split(separator: ":").last!)
        }
        return (server, port)
    }

    /// Skips the test (saying so) unless every tool is on PATH.
    static func requireTools(_ tools: [String]) throws {
        for tool in tools where !ProgramRunner.exists(tool) {
            print("SKIPPED: \(tool) is not installed (scripts/deps test installs it)")
            throw XCTSkip("\(tool) is not installed")
        }
    }

    /// Polls `probe` every 0.5 s until it returns a value, failing after `seconds`.
    static func waitFor<T>(_ what: @autoclosure () -> String, seconds: Double, _ probe: () throws -> T?) throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = try probe() { return value }
            usleep(500_000)
        }
        throw ToolError("timed out after \(Int(seconds)) s waiting for \(what())")
    }

    static func profile(_ program: String, _ arguments: [String] = [], dumps: URL, rate: UInt64,
                        interval: Double = 0, extra: [String: String] = [:]) throws -> (RunResult, HeapStore) {
        var env = extra
        env["SWHEAP_RATE"] = String(rate)
        env["SWHEAP_INTERVAL"] = String(interval)
        env["SWHEAP_DIR"] = dumps.path
        let result = try run(program, arguments, environment: env, preload: true)
        return (result, try HeapStore.load(directory: dumps.path))
    }

    /// Function symbols of an executable, from `nm -S` (our own symboliser is not under test here).
    static func functions(of executable: String) throws -> [FunctionRange] {
        let result = try run("nm", ["-S", "--defined-only", executable], environment: [:])
        return result.stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 4, "tTwW".contains(parts[2]),
                  let start = UInt64(parts[0], radix: 16), let size = UInt64(parts[1], radix: 16) else { return nil }
            return FunctionRange(name: String(parts[3]), start: start, end: start + size)
        }
    }
}

typealias HarnessError = ToolError

/// The figures of one fixture site (all stacks whose innermost fixture frame is that function).
struct SiteFigures: Equatable, CustomStringConvertible {
    var allocObjects = 0.0, allocBytes = 0.0, liveObjects = 0.0, liveBytes = 0.0
    var unreferencedObjects = 0.0, unreferencedBytes = 0.0
    var description: String {
        "alloc \(allocObjects) obj / \(allocBytes) B, live \(liveObjects) obj / \(liveBytes) B, "
            + "unreferenced \(unreferencedObjects) obj / \(unreferencedBytes) B"
    }
}

extension ProcessHeap {
    /// Per fixture function, the figures at `epochIndex` (default: last), found by mapping each
    /// stack's frames (return address - 1 - load bias) into the executable's symbol table.
    func figuresBySite(functions: [FunctionRange], epochIndex: Int? = nil) -> [String: SiteFigures] {
        let index = epochIndex ?? lastEpochIndex
        let exe = modules.first { $0.path == executable }
        var result: [String: SiteFigures] = [:]
        for site in sites {
            let name = site.frames.lazy.compactMap { pc -> String? in
                guard let exe, exe.contains(pc) else { return nil }
                let address = pc - 1 - exe.loadBias
                return functions.first { address >= $0.start && address < $0.end && $0.name.contains("site_") }?.name
            }.first
            guard let name else { continue }
            var f = result[name, default: SiteFigures()]
            f.allocObjects += site.allocObjects[index]
            f.allocBytes += site.allocBytes[index]
            f.liveObjects += site.liveObjects[index]
            f.liveBytes += site.liveBytes[index]
            f.unreferencedObjects += site.unreferencedObjects[index]
            f.unreferencedBytes += site.unreferencedBytes[index]
            result[name] = f
        }
        return result
    }
}
