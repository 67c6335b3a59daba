// `swheap diff`: the change in live bytes and objects per site, between two epochs of one
// process or between the last epochs of two runs; largest growth first.

import ArgumentParser
import SwHeapOutput
import SwHeapStore
import SwHeapSymbols
import SwHeapSystem

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show the change in live heap per site between two epochs or two runs.",
        discussion: """
            swheap diff DIR --from N [--to M]   two epochs of one process (default --to: the last; \
            --pid: the process, by default the first)
            swheap diff DIR_A DIR_B             the last epochs of two runs (first process of each)
            Sites are matched by their named stack, without allocator and runtime frames, so two \
            runs of the same program match. --pprof writes the difference as a profile \
            (for two epochs of one process the same as `swheap pprof --base`).
            """)

    @Argument(help: ArgumentHelp("One dump directory, or two to compare runs.", valueName: "directory"))
    var directories: [String]

    @Option(help: ArgumentHelp("The earlier epoch (one directory).", valueName: "n"))
    var from: UInt64?

    @Option(help: ArgumentHelp("The later epoch (default: the last).", valueName: "m"))
    var to: UInt64?

    @OptionGroup var processOption: ProcessOption
    @OptionGroup var wrapperOption: WrapperOption

    @Option(help: "List at most this many sites.")
    var top: Int = 20

    @Option(help: ArgumentHelp("Also write the difference as a pprof profile.", valueName: "file"))
    var pprof: String?

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
        switch directories.count {
        case 1: if from == nil { throw ValidationError("one directory needs --from (and optionally --to)") }
        case 2:
            if from != nil || to != nil { throw ValidationError("--from/--to compare epochs of one directory, not two runs") }
            if processOption.pid != nil { throw ValidationError("--pid chooses a process in one directory; two runs use their first process") }
        default: throw ValidationError("give one directory (with --from) or two")
        }
    }

    func run() throws {
        let symbolizer = Symbolizer()
        let wrappers = wrapperOption.rules()
        let diff: HeapDiff
        var profile: Perftools_Profiles_Profile?
        if directories.count == 1 {
            // Only the two epochs compared (a long run's timeline in memory may have thinned them).
            let store = try HeapStore.load(directory: directories[0],
                                           selection: .epochs(Set([from, to].compactMap { $0 }), andNewest: to == nil))
            let (process, note) = try ProcessChoice.choice(pid: processOption.pid, in: store, verb: "comparing")
            let builder = PprofBuilder(process: process)
            let indices = try builder.epochIndices(epoch: to, base: from)
            if let note { writeToStandardError(note) }  // after the epochs: a failure stays one line
            let names = SymbolizedSiteNaming(process: process, symbolizer: symbolizer, wrappers: wrappers)
            let epochs = process.epochs
            diff = HeapDiff(before: HeapSnapshot(process: process, epochIndex: indices.base!, names: names, label: "epoch \(epochs[indices.base!].epoch)"),
                            after: HeapSnapshot(process: process, epochIndex: indices.epoch, names: names, label: "epoch \(epochs[indices.epoch].epoch)"))
            if pprof != nil { profile = builder.profile(epochIndex: indices.epoch, baseIndex: indices.base, symbolizer: symbolizer,
                                                           wrappers: wrappers) }
        } else {
            let sides = try directories.map { directory in
                // The heap as it ran (ShownEpoch): the final dump, or the one before an exit teardown.
                let store = try HeapStore.load(directory: directory, selection: .newest(count: 2, also: []))
                let process = try ProcessChoice.choose(pid: nil, in: store, verb: "comparing")
                let names = SymbolizedSiteNaming(process: process, symbolizer: symbolizer, wrappers: wrappers)
                return HeapSnapshot(process: process, epochIndex: process.shownEpoch.index, names: names,
                                    label: "\(directory), pid \(process.pid)")
            }
            diff = HeapDiff(before: sides[0], after: sides[1])
            if pprof != nil { profile = DiffProfile.build(diff, comment: "swheap diff: \(sides[1].label) minus \(sides[0].label)") }
        }
        if let reason = symbolizer.unavailableReason { writeToStandardError("swheap: warning: \(reason)\n") }
        print(diff.renderTable(top: top), terminator: "")
        if let pprof, let profile {
            try PprofFile.write(profile, to: pprof)
            print("wrote \(pprof)")
        }
    }
}
