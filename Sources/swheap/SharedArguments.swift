// The arguments several subcommands take, each declared once and included with @OptionGroup,
// so that a flag's name, type and help cannot drift apart between commands.

import ArgumentParser
import SwHeapSymbols

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

/// `--wrapper NAME`: the program's own allocation wrappers, for the commands that name sites.
/// Added to those in `SWHEAP_WRAPPERS` and to the ones found automatically.
struct WrapperOption: ParsableArguments {
    @Option(name: .customLong("wrapper"),
            help: ArgumentHelp("An allocation wrapper of the program (repeatable; also SWHEAP_WRAPPERS): its callers are the sites, shown as `caller (via NAME)`. `*` matches any characters.",
                               valueName: "name"))
    var names: [String] = []

    func rules(adding more: [String] = []) -> WrapperRules {
        WrapperRules(names: names + WrapperRules.environmentNames() + more)
    }
}
