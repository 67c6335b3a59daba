// `swheap pprof DIR`: one process's heap at one epoch (or its growth since another) as a
// gzip-compressed pprof profile, symbolised here so pprof needs no binaries.

import ArgumentParser
import SwHeapOutput
import SwHeapStore
import SwHeapSymbols
import SwHeapSystem

struct PprofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pprof",
        abstract: "Write a pprof heap profile (alloc_* and inuse_* sample types) for one process.",
        discussion: """
            Samples carry a `birth_epoch` label: the dump interval the objects were allocated in \
            (filter with `pprof -tagfocus=birth_epoch=N`). With --base, values are the growth \
            from that epoch to the chosen one. When the directory holds several processes and no \
            --pid is given, the first (the parent) is written and the others are named on stderr. \
            Without --epoch or --last the epoch written is the heap as it was while the program \
            ran: the final dump, unless the program freed its heap at exit (the final dump holds \
            less than half of the dump before it), then the last dump before that teardown; the \
            line printed says which.
            View with: go tool pprof -http=: heap.pb.gz
            """)

    @OptionGroup var directory: DumpDirectoryArgument
    @OptionGroup var processOption: ProcessOption
    @OptionGroup var epochOption: EpochOption
    @OptionGroup var wrapperOption: WrapperOption

    @Flag(help: "Write the last epoch, the final dump of a process that exited (by default: the heap as it was while the program ran, see the discussion).")
    var last = false

    @Option(help: ArgumentHelp("Subtract this earlier epoch: a growth view.", valueName: "n"))
    var base: UInt64?

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The file to write.", valueName: "file"))
    var output = "heap.pb.gz"

    enum ProfileType: String, ExpressibleByArgument, CaseIterable { case heap, threads }

    @Option(help: ArgumentHelp("heap, or threads: thread counts per creation stack, like Go's threadcreate profile.",
                               valueName: "type"))
    var type: ProfileType = .heap

    func validate() throws {
        if last && epochOption.number != nil { throw ValidationError("--epoch and --last exclude each other") }
        if type == .threads && base != nil { throw ValidationError("--base applies to heap profiles only") }
    }

    func run() throws {
        // Only the epochs written (v2: each with its log up to the length it names).
        let wanted = Set([last ? nil : epochOption.number, base].compactMap { $0 })
        let byDefault = !last && epochOption.number == nil
        // By default the final dump and the one before it, to see whether the program tore its heap down.
        let store = try HeapStore.load(directory: directory.path,
                                       selection: byDefault ? .newest(count: 2, also: wanted) : .epochs(wanted, andNewest: last))
        let (process, note) = try ProcessChoice.choice(pid: processOption.pid, in: store, verb: "writing")
        let line = try writeProfile(of: process)
        // Said once the profile is written, so that a failure stays a one-line error.
        if let note { writeToStandardError(note) }
        print(line)
    }

    /// Builds, symbolises and writes the profile; returns the line to print.
    private func writeProfile(of process: ProcessHeap) throws(PprofError) -> String {
        let builder = PprofBuilder(process: process)
        let byDefault = !last && epochOption.number == nil
        let shown = process.epochs.isEmpty ? nil : process.shownEpoch
        let chosen = byDefault ? shown.map { process.epochs[$0.index].epoch } : (last ? nil : epochOption.number)
        let indices = try builder.epochIndices(epoch: chosen, base: base)
        let symbolizer = Symbolizer()
        let profile = type == .threads ? try builder.threadProfile(epochIndex: indices.epoch, symbolizer: symbolizer)
            : builder.profile(epochIndex: indices.epoch, baseIndex: indices.base, symbolizer: symbolizer,
                              wrappers: wrapperOption.rules())
        if let reason = symbolizer.unavailableReason { writeToStandardError("swheap: warning: \(reason)\n") }
        try PprofFile.write(profile, to: output)
        let epochNumber = process.epochs[indices.epoch].epoch
        var view = indices.base.map { "epochs \(process.epochs[$0].epoch)-\(epochNumber)" } ?? "epoch \(epochNumber)"
        if byDefault, let shown, indices.base == nil { view = ShownEpochText.forCommand(process, shown) }
        return "wrote \(output): pid \(process.pid), \(view), \(profile.sample.count) samples, \(profile.location.count) locations"
    }
}
