// The arguments several subcommands take, each declared once and included with @OptionGroup,
// so that a flag's name, type and help cannot drift apart between commands.

import ArgumentParser

/// The dump directory a reading command works on.
struct DumpDirectoryArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("A dump directory written by `swheap run`.", valueName: "directory"))
    var path: String
}

/// `--pid`: one process of a directory that may hold a parent and its forked children.
struct ProcessOption: ParsableArguments {
    // Without it, commands differ (the first process, or every process): each command's
    // discussion says which.
    @Option(help: "Only the process with this pid.")
    var pid: Int32?
}

/// `--epoch`: one dump of a process.
struct EpochOption: ParsableArguments {
    @Option(name: .customLong("epoch"), help: ArgumentHelp("The epoch (default: the last).", valueName: "n"))
    var number: UInt64?
}
