// Everything `swheap serve` answers with, computed from one HeapStore: the Prometheus text,
// the HTML report and the latest epoch as pprof. Computed once per change of the directory
// (symbolising and ranking are the expensive part) and served until the next change.

import SwHeapOutput
import SwHeapRanking
import SwHeapStore
import SwHeapSymbols
import SwHeapSystem

public struct ServeSnapshot: Sendable {
    public var metrics: String
    public var html: String
    /// Gzipped pprof of the latest epoch of each process, by pid; `pprofDefault` is the first.
    public var pprof: [Int32: [UInt8]]
    public var pprofDefault: Int32?
    /// Gzipped threads profile (threadcreate) of the latest census of each process that has one.
    public var threadcreate: [Int32: [UInt8]] = [:]

    /// - Parameters:
    ///   - top: findings per process that get their own metric series (bounds label cardinality).
    ///   - refreshSeconds: the HTML page reloads itself this often.
    ///   - wrappers: allocation wrappers (default: found automatically, and `SWHEAP_WRAPPERS`).
    public static func make(store: HeapStore, top: Int, refreshSeconds: Int,
                            wrappers: WrapperRules = WrapperRules(names: WrapperRules.environmentNames())) -> ServeSnapshot {
        let symbolizer = Symbolizer(options: .init(showsProgress: false))
        var sections: [ReportHTML.Section] = []
        var pprof: [Int32: [UInt8]] = [:], threadcreate: [Int32: [UInt8]] = [:]
        for process in store.processes {
            let names = SymbolizedSiteNaming(process: process, symbolizer: symbolizer, wrappers: wrappers)
            let ranking = LeakRanker.ranking(process: process, names: names)
            let report = ProcessReport(process: process, ranking: ranking, top: top)
            let stacks = FlameStacks.collect(process: process, epochIndex: process.shownEpoch.index, value: .inuseSpace,
                                             names: names, verdicts: FlameStacks.suspectVerdicts(ranking))
            let graph = FlameGraphSVG.heap(process, stacks: stacks, epochIndex: process.shownEpoch.index, baseIndex: nil,
                                           value: .inuseSpace)
            sections.append(ReportHTML.Section(report: report, process: process, flameGraph: graph))
            // What `swheap pprof DIR` writes: allocation before the dump ahead of the shown one
            // in one interval.
            let shown = process.shownEpoch.index
            let profile = PprofBuilder(process: process).profile(epochIndex: shown, allocationFoldedThrough: shown - 1,
                                                                 symbolizer: symbolizer, wrappers: wrappers)
            pprof[process.pid] = try? PprofFile.encode(profile)
            if let threads = try? PprofBuilder(process: process).threadProfile(epochIndex: process.lastEpochIndex, symbolizer: symbolizer) {
                threadcreate[process.pid] = try? PprofFile.encode(threads)
            }
        }
        return ServeSnapshot(
            metrics: HeapMetrics.exposition(sections, silent: store.silentProcesses),
            html: ReportHTML.render(sections, title: "swheap: \(store.directory)", refreshSeconds: refreshSeconds,
                                    silent: store.silentProcesses.map(\.line)),
            pprof: pprof, pprofDefault: store.processes.first?.pid, threadcreate: threadcreate)
    }
}
