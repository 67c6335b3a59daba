// `swheap synth DIR`: writes deterministic synthetic dumps, for benchmarks and fixtures.
// Hidden from help: it is a developer tool. Same options, same bytes.

import ArgumentParser
import SwHeapDump
import SwHeapSystem
import SwHeapTestSupport

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

    func validate() throws {
        guard epochs >= 1, stacks >= 1, depth >= 1, children >= 0, pid >= 1 else {
            throw ValidationError("--epochs, --stacks, --depth and --pid must be at least 1; --children at least 0.")
        }
    }

    func run() throws {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw CommandFailure(message: "\(directory): cannot create: \(errnoText())")
        }
        for child in 0...children {
            let processPID = pid + Int32(child)
            let generator = SyntheticProcess(pid: processPID, parentPID: child == 0 ? 1 : pid,
                                             epochCount: epochs, stackCount: stacks, depth: depth)
            for epoch in 1...epochs {
                try DumpWriter.write(generator.dump(epoch: epoch), toDirectory: directory)
            }
        }
    }
}
