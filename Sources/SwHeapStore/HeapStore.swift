// The single model every output (pprof, report, metrics) reads: all dumps of a directory,
// grouped by process, with each stack's figures laid out per epoch.
//
// Series and arrays named per epoch (`allocBytes`, `liveBytes`, ...) are aligned with
// `ProcessHeap.epochs`: index i is the dump `epochs[i]`.

import SwHeapDump

public struct HeapStore: Sendable {
    /// The directory the dumps were loaded from.
    public var directory: String
    /// One entry per process image, parents before children (ordered by first dump time, then
    /// pid). Usually one per pid; a program that exec'd without forking has one entry per image
    /// under the same pid (told apart by `epochs[0].startMonotonicNs`), since its figures
    /// restart with the new image.
    public var processes: [ProcessHeap]
    /// One line per file skipped (the incomplete last epoch of a process), also written to
    /// stderr when loading.
    public var warnings: [String] = []
    /// Processes that changed user under the profiler (their notes) and left no dump after
    /// that, with the reason: listed by every report so a silent worker is never just missing.
    public var silentProcesses: [SilentProcess] = []

    public init(directory: String, processes: [ProcessHeap]) {
        self.directory = directory; self.processes = processes
    }

    /// Loads the `<pid>.<epoch>.swheap` files of `directory` (v1, or v2 with their stack logs)
    /// that `selection` keeps: by default the bounded timeline. Temporaries and dot-files are
    /// ignored; a missing or empty directory, or any bad dump, is an error naming the path,
    /// except an incomplete last epoch of a process, skipped with a warning.
    public static func load(directory: String, selection: EpochSelection = .bounded) throws(DumpError) -> HeapStore {
        try HeapStoreLoader.load(directory: directory, selection: selection)
    }

    /// The process with this pid; for a pid that exec'd, the latest image.
    public func process(pid: Int32) -> ProcessHeap? {
        processes.last { $0.pid == pid }
    }
}

/// Everything known about one process (a forked child is its own process).
public struct ProcessHeap: Sendable {
    public var pid: Int32
    public var parentPID: Int32
    /// From the latest dump.
    public var executable: String
    public var commandLine: [String]
    public var rate: UInt64
    public var maxDepth: UInt32
    /// Headers of the dumps, sorted by epoch number.
    public var epochs: [DumpHeader]
    /// The file each epoch was read from, aligned with `epochs`.
    public var files: [String]
    /// Union over all epochs; for the same path and load bias the latest dump wins, so
    /// libraries that were dlopen'd and closed again still symbolise. In first-seen order.
    public var modules: [Module]
    /// One per stack id seen in any epoch, in first-seen order.
    public var sites: [Site]
    /// Sums over all sites, aligned with `epochs`.
    public var totals: [EpochTotals]
    /// The thread census of each dump, aligned with `epochs`; nil for a dump written before
    /// the shim counted threads (or an empty array for a process built without them).
    public var threads: [ThreadCensus?]
    /// The MEMORY record of each dump, aligned with `epochs`; nil for a dump without one
    /// (written by an older shim).
    public var memory: [MemoryPicture?]

    public init(pid: Int32, parentPID: Int32, executable: String, commandLine: [String], rate: UInt64,
                maxDepth: UInt32, epochs: [DumpHeader], files: [String], modules: [Module], sites: [Site],
                totals: [EpochTotals], threads: [ThreadCensus?] = [], memory: [MemoryPicture?]? = nil) {
        self.pid = pid; self.parentPID = parentPID; self.executable = executable
        self.commandLine = commandLine; self.rate = rate; self.maxDepth = maxDepth
        self.epochs = epochs; self.files = files; self.modules = modules; self.sites = sites
        self.totals = totals; self.threads = threads
        self.memory = memory ?? Array(repeating: nil, count: epochs.count)
    }

    /// Whether any dump has a thread census.
    public var hasThreadCensus: Bool { threads.contains { $0 != nil } }

    /// Whether any dump has a MEMORY record.
    public var hasMemory: Bool { memory.contains { $0 != nil } }

    public var lastEpochIndex: Int { epochs.count - 1 }
    /// The process exited normally and wrote its final dump.
    public var isFinal: Bool { epochs.last?.isFinal ?? false }
    /// The latest dump has valid unreferenced figures.
    public var isScanned: Bool { epochs.last?.isScanned ?? false }
    /// The latest dump with valid unreferenced figures: the exit scan's, or else the last live
    /// scan's (SWHEAP_SCAN_INTERVAL, `swheap scan`); nil when no dump has any.
    public var scannedEpochIndex: Int? { epochs.lastIndex { $0.isScanned } }
    /// That scan traversed the heap from the roots (not the conservative fallback).
    public var heapTraversed: Bool { scannedEpochIndex.map { epochs[$0].heapTraversed } ?? false }
    /// The scan the latest dump carries (SCAN section): the latest that found verdicts, at
    /// exit or live, whose per-site figures are each `Site.atScan`; or, when none found any,
    /// the try that failed (`record.fallback`). Nil for dumps without the section.
    public var scan: ProcessScan?
    /// Some dump hit a full shim table, so its figures are lower bounds.
    public var isTruncated: Bool { epochs.contains { $0.isTruncated } }
    /// Profiling began while the process ran (`swheap attach`): as the latest dump says.
    public var attach: AttachInfo? { epochs.last?.attach }

    /// The index into `epochs` of epoch number `epoch`, if that dump exists.
    public func epochIndex(ofEpoch epoch: UInt64) -> Int? {
        var low = 0, high = epochs.count
        while low < high {
            let mid = (low + high) / 2
            if epochs[mid].epoch < epoch { low = mid + 1 } else { high = mid }
        }
        return low < epochs.count && epochs[low].epoch == epoch ? low : nil
    }
}

/// The scan a process's latest dump carries.
public struct ProcessScan: Hashable, Sendable {
    public var record: ScanRecord
    /// Sums over the sites at the scan.
    public var liveBytes: Double
    public var unreferencedBytes: Double
    /// It found verdicts (they are in `Site.atScan`).
    public var foundVerdicts: Bool { record.fallback == nil }

    public init(record: ScanRecord, liveBytes: Double = 0, unreferencedBytes: Double = 0) {
        self.record = record; self.liveBytes = liveBytes; self.unreferencedBytes = unreferencedBytes
    }
}

/// Per-epoch sums over all sites of a process.
public struct EpochTotals: Hashable, Sendable {
    public var stackCount: Int = 0
    public var allocObjects: Double = 0
    public var allocBytes: Double = 0
    public var liveObjects: Double = 0
    public var liveBytes: Double = 0
    public var unreferencedObjects: Double = 0
    public var unreferencedBytes: Double = 0

    public init() {}
}

/// One allocation stack of a process, through all epochs.
public struct Site: Sendable {
    public var stackID: UInt32
    /// Return addresses, innermost first (subtract 1 before symbolising).
    public var frames: [UInt64]
    /// Cumulative since process start, per epoch; 0 before the stack existed.
    public var allocObjects: EpochSeries
    public var allocBytes: EpochSeries
    /// Per epoch, summed over birth epochs.
    public var liveObjects: EpochSeries
    public var liveBytes: EpochSeries
    public var unreferencedObjects: EpochSeries
    public var unreferencedBytes: EpochSeries
    /// The LIVE cells of this stack in every dump (`epochIndex` set), sorted by epoch index then birth epoch.
    public var births: [LiveCell]
    /// Live and unreferenced figures at the process's scan (`ProcessHeap.scan`); nil when it
    /// held nothing then, or no scan carried figures.
    public var atScan: LiveCell?
    /// Where the shortest path from the roots to this stack's nearest sampled block began at
    /// that scan; nil when nothing referenced it, or no root was recorded.
    public var heldBy: ScanHolder?
    /// The unreferenced components this stack's unreferenced blocks belonged to at that scan
    /// (numbers shared with the stacks of the same component); empty when none.
    public var unreferencedComponents: [UInt32] = []

    public init(stackID: UInt32, frames: [UInt64], allocObjects: EpochSeries, allocBytes: EpochSeries,
                liveObjects: EpochSeries, liveBytes: EpochSeries, unreferencedObjects: EpochSeries,
                unreferencedBytes: EpochSeries, births: [LiveCell]) {
        self.stackID = stackID; self.frames = frames
        self.allocObjects = allocObjects; self.allocBytes = allocBytes
        self.liveObjects = liveObjects; self.liveBytes = liveBytes
        self.unreferencedObjects = unreferencedObjects; self.unreferencedBytes = unreferencedBytes
        self.births = births
    }

    /// The cells of `births` for epoch index `index` (a contiguous run, found by binary search).
    public func births(at index: Int) -> ArraySlice<LiveCell> {
        var low = 0, high = births.count
        while low < high {
            let mid = (low + high) / 2
            if births[mid].epochIndex < index { low = mid + 1 } else { high = mid }
        }
        var end = low
        while end < births.count && births[end].epochIndex == index { end += 1 }
        return births[low..<end]
    }
}
