// `swheap synth DIR`: writes deterministic synthetic dumps, for benchmarks and fixtures.
// Hidden from help: it is a developer tool. Same options, same bytes.

import ArgumentParser
import SwHeapDump
import SwHeapSystem
import SwHeapSynth

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write synthetic heap dumps (for benchmarks and tests).",
        shouldDisplay: false)

    @Argument(help: ArgumentHelp("Directory to write into (created if missing).", valueName: "directory"))
    var directory: String

    @Option(help: "Dumps per process.")
    var epochs: Int = 10

    @Option(help: "Distinct stacks per process.")
    var stacks: Int = 1000

    @Option(help: "Typical stack depth.")
    var depth: Int = 20

    @Option(help: "Forked children, each with its own dumps.")
    var children: Int = 0

    @Option(help: "Pid of the first process.")
    var pid: Int32 = 1000

    @Option(help: "Dump format version: 2 (a stack log beside the epoch files) or 1 (self-contained files).")
    var format: UInt32 = 2

    @Flag(help: "Version 2: write bodies and log chunks uncompressed.")
    var plain = false

    @Flag(help: """
        A service in fast motion at the default rate instead of the dense model: about 8 samples \
        per epoch over --stacks stacks (churn, start-up tables, caches, three slow leaks).
        """)
    var service = false

    func validate() throws {
        guard epochs >= 1, stacks >= 1, depth >= 1, children >= 0, pid >= 1 else {
            throw ValidationError("--epochs, --stacks, --depth and --pid must be at least 1; --children at least 0.")
        }
        guard format == 1 || format == 2 else { throw ValidationError("--format must be 1 or 2.") }
        if plain && format == 1 { throw ValidationError("--plain applies to --format 2 only.") }
    }

    func run() throws {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw CommandFailure(message: "\(directory): cannot create: \(errnoText())")
        }
        for child in 0...children {
            let processPID = pid + Int32(child)
            var logged = LoggedDumpWriter(directory: directory, deflated: !plain)
            func write(_ dump: Dump) throws {
                if format == 1 { try DumpWriter.write(dump, toDirectory: directory) } else { try logged.write(dump) }
            }
            if service {
                var generator = ServiceProcess(pid: processPID, epochCount: epochs, stackCount: stacks, depth: depth)
                for _ in 1...epochs { try write(generator.nextDump()) }
            } else {
                let generator = SyntheticProcess(pid: processPID, parentPID: child == 0 ? 1 : pid,
                                                 epochCount: epochs, stackCount: stacks, depth: depth)
                for epoch in 1...epochs { try write(generator.dump(epoch: epoch)) }
            }
        }
    }
}
