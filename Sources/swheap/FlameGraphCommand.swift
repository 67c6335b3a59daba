// `swheap flamegraph DIR`: one process's heap at an epoch, or its growth between two epochs,
// as an interactive SVG flame graph, or as collapsed stacks for FlameGraph, inferno, speedscope.

import ArgumentParser
import SwHeapOutput
import SwHeapRanking
import SwHeapStore
import SwHeapSymbols
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#endif

extension FlameValue: ExpressibleByArgument {}

struct FlameGraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flamegraph",
        abstract: "Write a flame graph (SVG) or collapsed stacks of one process's heap.",
        discussion: """
            The epoch drawn by default is the heap as it was while the program ran: the final \
            dump, or the last dump before exit teardown when the program freed its heap at exit \
            (the line printed says which). Widths are live bytes at the epoch by default (--type chooses another of pprof's \
            sample types). With --from/--to the graph shows growth between the two epochs, so a \
            leak is the widest tower. Allocator and runtime frames are left out, as in the \
            report; a suspect's site is red (growing) or purple (leaked at exit). --folded writes \
            collapsed stacks instead ("a;b;c value", or "a;b;c before after" with --from/--to, \
            which difffolded.pl and inferno-diff-folded read). Without --pid the first process in \
            the directory (the parent) is drawn.
            """)

    @OptionGroup var directory: DumpDirectoryArgument
    @OptionGroup var processOption: ProcessOption
    @OptionGroup var epochOption: EpochOption
    @OptionGroup var wrapperOption: WrapperOption

    @Option(help: ArgumentHelp("Draw growth from this epoch ...", valueName: "a"))
    var from: UInt64?

    @Option(help: ArgumentHelp("... to this one (default: the last).", valueName: "b"))
    var to: UInt64?

    @Option(name: .customLong("type"), help: ArgumentHelp("What widths measure: inuse_space, inuse_objects, alloc_space or alloc_objects.", valueName: "type"))
    var value: FlameValue = .inuseSpace

    @Flag(help: "Write collapsed stacks (text) instead of SVG.")
    var folded = false

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The file to write; - for standard output (default: flame.svg, or flame.folded with --folded).", valueName: "file"))
    var output: String?

    @Flag(help: "Draw the last epoch, the final dump of a process that exited (by default: the heap as it was while the program ran).")
    var last = false

    func validate() throws {
        if last && (epochOption.number != nil || from != nil) { throw ValidationError("--last excludes --epoch and --from/--to") }
        if epochOption.number != nil && (from != nil || to != nil) { throw ValidationError("--epoch excludes --from/--to") }
        if to != nil && from == nil { throw ValidationError("--to needs --from") }
    }

    func run() throws {
        // The timeline (the verdicts colour the graph) and the epochs drawn, which a long run's
        // timeline in memory may have thinned.
        let store = try HeapStore.load(directory: directory.path, selection: .timeline(
            recent: EpochSelection.recentInMemory, also: Set([epochOption.number, from, to].compactMap { $0 })))
        let (process, note) = try ProcessChoice.choice(pid: processOption.pid, in: store, verb: "drawing")
        // By default the heap as it was while the program ran (ShownEpoch), said in the output.
        let byDefault = from == nil && epochOption.number == nil && !last
        let shown = process.epochs.isEmpty ? nil : process.shownEpoch
        let chosen = from != nil ? to : last ? nil : (epochOption.number ?? shown.map { process.epochs[$0.index].epoch })
        let indices = try PprofBuilder(process: process).epochIndices(epoch: chosen, base: from)
        if let note { writeToStandardError(note) }  // after the epochs: a failure stays one line
        let differential = indices.base != nil

        let symbolizer = Symbolizer()
        let names = SymbolizedSiteNaming(process: process, symbolizer: symbolizer, wrappers: wrapperOption.rules())
        let ranking = LeakRanker.ranking(process: process, names: names)
        if let reason = symbolizer.unavailableReason { writeToStandardError("swheap: warning: \(reason)\n") }
        let stacks = FlameStacks.collect(process: process, epochIndex: indices.epoch, baseIndex: indices.base,
                                         value: value, names: names, verdicts: FlameStacks.suspectVerdicts(ranking))

        var view = FlameGraphSVG.view(process, epochIndex: indices.epoch, baseIndex: indices.base)
        if byDefault, let shown { view = ShownEpochText.forCommand(process, shown) }
        let text: String
        if folded {
            text = FoldedStacks.render(stacks, differential: differential)
        } else {
            text = FlameGraphSVG.heap(process, stacks: stacks, epochIndex: indices.epoch, baseIndex: indices.base, value: value)
        }
        let path = output ?? (folded ? "flame.folded" : "flame.svg")
        if path == "-" {
            print(text, terminator: "")
            return
        }
        try FileIO.writeAtomically(Array(text.utf8), to: path)
        print("wrote \(path): pid \(process.pid), \(view), \(value.rawValue), \(stacks.count) stacks")
    }
}
