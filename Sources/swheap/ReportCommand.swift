// `swheap report DIR`: ranks allocation sites by evidence that they grow without release.

import ArgumentParser
import SwHeapOutput
import SwHeapRanking
import SwHeapStore
import SwHeapSymbols
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#endif

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Rank allocation sites by evidence that they grow and are never released.",
        discussion: """
            Each process in the directory (a parent and its forked children) is reported \
            separately; with several, one summary line per process comes first and only \
            processes with findings are detailed (--all: every process, --pid: one). Verdicts: growing (a leak), plateau (bounded: cache, pool), sawtooth \
            (batches filled and released), stable, too-few-samples, too-few-epochs (rising, too short to tell from a cache filling), leaked-at-exit \
            (unreferenced at exit, not growing). See docs/REPORT.md for how verdicts are decided and for the JSON schema.
            """)

    @OptionGroup var directory: DumpDirectoryArgument

    @Option(help: "List at most this many sites per process (suspects first).")
    var top: Int = 20

    @Flag(help: "Print JSON (schema in docs/REPORT.md) instead of a table.")
    var json = false

    @Option(help: ArgumentHelp("LeakSanitizer-style suppressions (`leak:PATTERN` lines).", valueName: "file"))
    var suppressions: String?

    @Flag(help: "Do not apply the built-in suppressions for glibc and C++ runtime start-up allocations.")
    var noBuiltinSuppressions = false

    @Flag(help: "Detail every process, and list every site (not only suspects and sites holding 1% of the heap; suppressed ones too).")
    var all = false

    @OptionGroup var processOption: ProcessOption
    @OptionGroup var wrapperOption: WrapperOption

    @Option(help: ArgumentHelp("Write a self-contained HTML report (chart, findings, flame graph) to this file.", valueName: "file"))
    var html: String?

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        let store = try HeapStore.load(directory: directory.path)
        var processes = store.processes
        if let pid = processOption.pid {
            processes = processes.filter { $0.pid == pid }
            if processes.isEmpty {
                let known = store.processes.map { String($0.pid) }.joined(separator: ", ")
                throw CommandFailure(message: "no process \(pid) in \(directory.path) (processes: \(known))")
            }
        }
        var rules = noBuiltinSuppressions ? Suppressions() : Suppressions.builtIn
        if let suppressions { rules = rules + (try Suppressions.load(path: suppressions)) }

        let symbolizer = Symbolizer(options: .init(showsProgress: !json))
        let wrappers = wrapperOption.rules(adding: rules.wrappers)
        let names = processes.map { SymbolizedSiteNaming(process: $0, symbolizer: symbolizer, wrappers: wrappers) }
        let reports = zip(processes, names).map { process, names in
            let ranking = LeakRanker.ranking(process: process, names: names, suppressions: rules)
            return ProcessReport(process: process, ranking: ranking, top: top, listsEverySite: all)
        }
        if let reason = symbolizer.unavailableReason { writeToStandardError("swheap: warning: \(reason)\n") }
        if !json, let note = symbolizer.unnamedNote { writeToStandardError("swheap: note: \(note)\n") }
        if let html {
            try writeHTML(reports: reports, processes: processes, names: names, silent: store.silentProcesses, to: html)
        } else if json {
            let silent = store.silentProcesses.map {
                ReportJSON.Silent(pid: $0.note.pid, command: $0.note.command, from_uid: $0.note.fromUID, to_uid: $0.note.toUID,
                                  epoch: $0.note.epoch, directory: $0.note.directory, reason: $0.reason)
            }
            print(ReportJSON.render(reports, silent: silent), terminator: "")
        } else {
            print(ReportTable(style: .forStandardOutput()).render(reports, detailsForAll: all || processOption.pid != nil), terminator: "")
        }
        if !store.silentProcesses.isEmpty && !json {
            // Also with --html: a worker that wrote nothing must never go unmentioned.
            print("\n" + SilentProcess.heading(count: store.silentProcesses.count))
            for silent in store.silentProcesses { print("  " + silent.line) }
        }
    }

    /// The HTML report: each process with the flame graph of its last epoch.
    private func writeHTML(reports: [ProcessReport], processes: [ProcessHeap], names: [SymbolizedSiteNaming], silent: [SilentProcess],
                           to path: String) throws {
        let sections = zip(reports, zip(processes, names)).map { report, named in
            let (process, names) = named
            let stacks = FlameStacks.collect(process: process, epochIndex: process.shownEpoch.index, value: .inuseSpace,
                                             names: names, verdicts: FlameStacks.suspectVerdicts(report.ranking))
            let graph = FlameGraphSVG.heap(process, stacks: stacks, epochIndex: process.shownEpoch.index, baseIndex: nil, value: .inuseSpace)
            return ReportHTML.Section(report: report, process: process, flameGraph: graph)
        }
        let page = ReportHTML.render(sections, title: "swheap report: \(directory.path)", silent: silent.map(\.line))
        try FileIO.writeAtomically(Array(page.utf8), to: path)
        print("wrote \(path): \(reports.count) process\(reports.count == 1 ? "" : "es")")
    }
}
