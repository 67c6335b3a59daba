// The `swheap` root command. It only dispatches to subcommands, and turns the errors
// they throw into one `swheap: error: ...` line on stderr.

import ArgumentParser
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct SwHeap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swheap",
        abstract: "A sampling heap profiler for native Linux programs.",
        discussion: """
            Run a program under the profiler with `swheap run -- PROGRAM ARGS...`; it writes heap \
            dumps into a directory that the other subcommands read.
            """,
        subcommands: allSubcommands)

    /// Every subcommand, in the order `swheap --help` lists them. Add new ones here.
    static let allSubcommands: [any ParsableCommand.Type] = [
        RunCommand.self,
        AttachCommand.self,
        DetachCommand.self,
        ScanCommand.self,
        DumpsCommand.self,
        SynthCommand.self,
        ReportCommand.self,
        PprofCommand.self,
        FlameGraphCommand.self,
        DiffCommand.self,
        ServeCommand.self,
        SymbolizeCommand.self,
    ]

    /// Like ArgumentParser's `main()`, except that every `SwHeapError` (a bad dump, a missing
    /// file, an unknown epoch, a program that cannot run) is reported as
    /// `swheap: error: <one line>` instead of with usage text.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as any SwHeapError {
            fail(error.description, exitCode: error.exitCode)
        } catch {
            exit(withError: error)  // argument errors, --help, ExitCode
        }
    }

    private static func fail(_ message: String, exitCode: Int32) -> Never {
        writeToStandardError("swheap: error: \(message)\n")
        Glibc.exit(exitCode)
    }
}

/// A failure a subcommand reports to the user as one line (not an argument error).
struct CommandFailure: SwHeapError {
    var message: String
    var exitCode: Int32 = 1
    var description: String { message }
}
