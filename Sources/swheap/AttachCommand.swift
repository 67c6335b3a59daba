// `swheap attach PID` and `swheap detach PID`: profile a process that is already running,
// without restarting it. The work is done by the injector `swheap-attach` beside this binary
// (Sources/CSwHeapAttach, docs/ATTACH.md); this file checks the options, prepares the dump
// directory, runs it, and shows what happens until the end of --for or Ctrl-C.

import ArgumentParser
import Foundation
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Start profiling a running process (no restart); Ctrl-C or --for ends it.",
        discussion: """
            Loads libswheap.so into the process with ptrace and routes its allocation calls \
            through the shim until `swheap detach PID`, the end of --for, or Ctrl-C. Only one of \
            its threads is stopped, briefly, and only at a safe point. Dumps go to --dir (default \
            ./swheap.<program>.<pid>) and read like any others. Needs permission to ptrace the \
            process: the same user (and kernel.yama.ptrace_scope 0), or root / CAP_SYS_PTRACE.
            """)

    @Argument(help: "The process id.")
    var pid: Int32

    @Option(name: .customLong("for"), help: ArgumentHelp("Detach after this long (30s, 5m, 2h, 1h30m; plain numbers are seconds).",
                                                          valueName: "duration"))
    var duration: String?

    @OptionGroup var profiling: ProfilingOptions

    func validate() throws {
        if pid <= 0 { throw ValidationError("the process id must be a positive number") }
        if let duration, Duration.seconds(duration) == nil {
            throw ValidationError("--for must be a duration such as 30s, 5m, 2h or 1h30m, not '\(duration)'.")
        }
    }

    func run() throws {
        let injector = try AttachTool.find()
        let shim = try ShimLocation.find()
        // Every refusal the injector can tell without touching the process comes first.
        let checked = try AttachTool.run(injector, ["check", String(pid), shim])
        guard checked.ok else { throw CommandFailure(message: checked.message) }
        let directory = try AttachTool.prepareDirectory(profiling.dir, pid: pid)
        let interval = profiling.interval ?? 10
        var settings = ["dir=\(directory)"]
        settings.append("interval_ns=\(UInt64((interval * 1e9).rounded()))")
        if let rate = profiling.rate { settings.append("rate=\(rate)") }
        if let depth = profiling.depth { settings.append("depth=\(depth)") }
        if let maxBytes = profiling.maxBytes { settings.append("max_bytes=\(maxBytes)") }
        if let scanInterval = profiling.scanInterval { settings.append("scan_interval_ns=\(UInt64((scanInterval * 1e9).rounded()))") }
        let limit = duration.flatMap(Duration.seconds)

        // Ctrl-C and SIGTERM from here on mean "detach", never "leave it half attached".
        Interruption.install()
        let result = try AttachTool.run(injector, ["attach", String(pid), shim, settings.joined(separator: "\n")])
        guard result.ok else { throw CommandFailure(message: result.message) }
        let fields = result.fields
        var line = "attached to pid \(pid) (\(AttachTool.programName(pid))): dumps go to \(directory) every \(Show.seconds(interval))"
        if let before = fields["heap_before_bytes"].flatMap(UInt64.init) {
            line += "; \(Show.bytes(before)) of heap predates attach"
        }
        print(line)
        print(limit.map { "detaching after \(Show.seconds($0)), or at Ctrl-C" } ?? "Ctrl-C (or swheap detach \(pid)) detaches")
        fflush(nil)

        let started = Monotonic.now()
        var seen = Set(AttachTool.epochFiles(directory, pid: pid))
        var ending: String?
        var ticks = 0
        var said = fields["message"] ?? ""
        while ending == nil {
            usleep(100_000)
            ticks += 1
            for file in AttachTool.epochFiles(directory, pid: pid) where !seen.contains(file) {
                seen.insert(file)
                print("dump written: \(directory)/\(file)")
                fflush(nil)
            }
            if Interruption.requested { ending = "interrupted" }
            else if let limit, Monotonic.now() - started >= limit { ending = "time is up" }
            else if kill(pid, 0) != 0 && errno == ESRCH {
                print("pid \(pid) exited; its exit dump is in \(directory)")
                print("swheap report \(directory)")
                return
            } else if ticks % 10 == 0, let status = AttachTool.status(injector, pid: pid) {
                // the shim's warnings (a full disk, ...) come here, not to the program's stderr
                if let message = status["message"], !message.isEmpty, message != said {
                    print("pid \(pid): \(message)")
                    said = message
                }
                if let state = status["state"], state != "attached" && state != "starting" {
                    print("pid \(pid) was detached elsewhere (\(state))")
                    return
                }
            }
        }
        let detached = try AttachTool.run(injector, ["detach", String(pid)])
        guard detached.ok else { throw CommandFailure(message: detached.message) }
        for file in AttachTool.epochFiles(directory, pid: pid) where !seen.contains(file) {
            print("dump written: \(directory)/\(file)")
        }
        print("detached from pid \(pid) (\(ending!)); it runs on unprofiled")
        print("swheap report \(directory)")
    }
}

struct DetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Stop profiling a process attached with `swheap attach`.",
        discussion: """
            Puts back every allocation call the shim rerouted, writes one last dump and stops \
            its writer thread; the process runs on, unprofiled and as fast as before. No thread \
            is stopped. A process started under `swheap run` is profiled until it exits.
            """)

    @Argument(help: "The process id.")
    var pid: Int32

    func validate() throws {
        if pid <= 0 { throw ValidationError("the process id must be a positive number") }
    }

    func run() throws {
        let injector = try AttachTool.find()
        Interruption.install()
        let result = try AttachTool.run(injector, ["detach", String(pid)])
        guard result.ok else { throw CommandFailure(message: result.message) }
        let dir = result.fields["dir"] ?? "its dump directory"
        print("detached from pid \(pid); it runs on unprofiled; dumps are in \(dir)")
    }
}

/// Durations such as 30, 30s, 500ms, 5m, 2h, 1d, 1h30m.
enum Duration {
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        if let plain = Double(rest) { return plain > 0 && plain.isFinite ? plain : nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) && !(rest.hasPrefix("ms") && $0.0 == "m") })
            else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * scale
        }
        return total > 0 && total.isFinite ? total : nil
    }
}

enum Monotonic {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// SIGINT, SIGTERM and SIGHUP set a flag the attach loop polls.
enum Interruption {
    static var requested: Bool { interruptionRequested != 0 }

    static func install() {
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in interruptionRequested = 1 }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }
}

nonisolated(unsafe) private var interruptionRequested: sig_atomic_t = 0

/// The injector `swheap-attach`, the dump directory and the process's name.
enum AttachTool {
    static let fileName = "swheap-attach"

    static func find() throws -> String {
        let shim = try ShimLocation.find()
        let injector = String(shim.dropLast(ShimLocation.fileName.count)) + fileName
        guard access(injector, X_OK) == 0 else {
            throw CommandFailure(message: "\(fileName) not found next to \(shim); build it with scripts/build")
        }
        return injector
    }

    struct Result {
        var ok: Bool
        var output: String
        /// The one line a failure says.
        var message: String { output.split(separator: "\n").first.map(String.init) ?? "swheap-attach failed" }
        /// The key=value lines of a success.
        var fields: [String: String] {
            var out: [String: String] = [:]
            for line in output.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                out[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            return out
        }
    }

    static func run(_ injector: String, _ arguments: [String]) throws -> Result {
        let pipe = try makePipe()
        let child = try Subprocess.spawn([injector] + arguments, options: .init(standardOutput: pipe.write))
        close(pipe.write)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(pipe.read, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        close(pipe.read)
        let status = try child.wait()
        var output = String(decoding: bytes, as: UTF8.self)
        if case .signaled(let signal) = status {
            output = "\(fileName) was killed (signal \(signal)) midway; the process runs on by itself"
        }
        return Result(ok: status == .exited(0), output: output)
    }

    static func status(_ injector: String, pid: Int32) -> [String: String]? {
        guard let result = try? run(injector, ["status", String(pid)]), result.ok else { return nil }
        return result.fields
    }

    static func programName(_ pid: Int32) -> String {
        let comm = (try? FileIO.read(path: "/proc/\(pid)/comm", limit: 64)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? "program" : name
    }

    /// The epoch files of `pid` in `directory`, by name.
    static func epochFiles(_ directory: String, pid: Int32) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix("\(pid).") && name.hasSuffix(".swheap") { names.append(name) }
        }
        return names.sorted()
    }

    /// The dump directory as an absolute path, created (0700) when missing. The shim in the
    /// process refuses a directory its user does not own: as root, a new directory is given to
    /// the process's user; an existing one owned by someone else is refused here.
    static func prepareDirectory(_ requested: String?, pid: Int32) throws -> String {
        var path = requested ?? "swheap.\(programName(pid)).\(pid)"
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard getcwd(&buffer, buffer.count) != nil else { throw CommandFailure(message: "cannot read the working directory: \(errnoText())") }
            let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            path = (cwd == "/" ? "" : cwd) + "/" + path
        }
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var owner = stat()
        let target = stat("/proc/\(pid)", &owner) == 0 ? owner.st_uid : geteuid()
        let group = owner.st_gid
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw CommandFailure(message: "\(path) exists and is not a directory") }
            if info.st_uid != target {
                throw CommandFailure(message: "\(path) belongs to uid \(info.st_uid) but pid \(pid) runs as uid \(target): the shim would refuse it; choose another --dir")
            }
            return path
        }
        // Parents as `mkdir -p` would, then the directory itself.
        var prefix = ""
        for part in path.split(separator: "/").dropLast() {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw CommandFailure(message: "cannot create \(prefix): \(errnoText())")
            }
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw CommandFailure(message: "cannot create \(path): \(errnoText())") }
        if target != geteuid() && chown(path, target, group) != 0 {
            throw CommandFailure(message: "cannot give \(path) to uid \(target), the user of pid \(pid): \(errnoText()); choose a --dir that user owns")
        }
        return path
    }
}

/// Sizes and durations for the lines `swheap attach` prints.
enum Show {
    static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(value), unit = 0
        while v >= 1024 && unit < units.count - 1 { v /= 1024; unit += 1 }
        return unit == 0 ? "\(value) B" : String(format: "%.1f %@", v, units[unit])
    }

    static func milliseconds(_ value: Double) -> String { String(format: "%.1f ms", value) }

    static func seconds(_ value: Double) -> String {
        if value < 60 { return value == value.rounded() ? "\(Int(value))s" : String(format: "%.2gs", value) }
        if value < 3600 { return String(format: "%.0fm%02.0fs", (value / 60).rounded(.down), value.truncatingRemainder(dividingBy: 60)) }
        return String(format: "%.0fh%02.0fm", (value / 3600).rounded(.down), (value / 60).truncatingRemainder(dividingBy: 60).rounded(.down))
    }
}
