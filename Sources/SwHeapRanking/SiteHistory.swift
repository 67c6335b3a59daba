// The ranker's input, decoupled from how dumps are stored: the times of a process's epochs and,
// per allocation site, its live figures at each epoch plus the birth epochs of what is live.
// Tests build these directly; `SiteHistory+HeapStore.swift` builds them from a ProcessHeap.

import SwHeapDump

/// The epochs of one process, oldest first.
public struct EpochTimeline: Hashable, Sendable {
    /// Seconds since the shim started in the process, one per epoch, increasing.
    public var elapsedSeconds: [Double]
    /// Epoch numbers (1-based), aligned with `elapsedSeconds`.
    public var epochNumbers: [UInt64]
    /// The last epoch is the dump written at exit.
    public var endsWithFinalDump: Bool
    /// The last epoch carries unreferenced figures (the shim scanned memory for pointers).
    public var lastEpochScanned: Bool
    /// Mean bytes between samples (1 = every allocation recorded): sets the noise of estimates.
    public var samplingRate: Double
    /// The epoch whose live figures a site is shown with (`ShownEpoch`: the last dump before
    /// exit teardown when the program freed its heap at exit); nil: the last.
    public var shownIndex: Int?

    public init(elapsedSeconds: [Double], epochNumbers: [UInt64]? = nil,
                endsWithFinalDump: Bool = false, lastEpochScanned: Bool = false, samplingRate: Double = 1) {
        self.elapsedSeconds = elapsedSeconds
        self.samplingRate = samplingRate
        self.epochNumbers = epochNumbers ?? elapsedSeconds.indices.map { UInt64($0 + 1) }
        self.endsWithFinalDump = endsWithFinalDump
        self.lastEpochScanned = lastEpochScanned
    }

    public var count: Int { elapsedSeconds.count }

    /// The index of the epoch sites are shown at: `shownIndex` when valid, else the last.
    public var shownEpochIndex: Int {
        if let shownIndex, shownIndex >= 0, shownIndex < count { return shownIndex }
        return count - 1
    }

    /// The index of the first epoch whose dump can contain objects born in `birthEpoch`
    /// (dumps may be missing, e.g. a run killed mid-write). Nil if born after the last dump.
    public func index(ofBirthEpoch birthEpoch: UInt64) -> Int? {
        epochNumbers.firstIndex { $0 >= birthEpoch }
    }
}

/// One allocation site (a deduplicated stack) across the epochs of its process.
public struct SiteHistory: Hashable, Sendable {
    public var stackID: UInt32
    /// Aligned with the timeline's epochs.
    public var liveBytes: EpochSeries
    public var liveObjects: EpochSeries
    /// Unreferenced bytes per epoch; meaningful only where the epoch was scanned.
    public var unreferencedBytes: EpochSeries
    /// Unreferenced objects per epoch, likewise: what shows a leak of empty blocks (malloc(0)
    /// is charged no bytes, LeakSanitizer reports it as one).
    public var unreferencedObjects: EpochSeries
    /// The LIVE cells of the site, `epochIndex` aligned with the timeline.
    public var births: [LiveCell]

    public init(stackID: UInt32, liveBytes: EpochSeries, liveObjects: EpochSeries? = nil,
                unreferencedBytes: EpochSeries? = nil, unreferencedObjects: EpochSeries? = nil, births: [LiveCell] = []) {
        self.stackID = stackID
        self.liveBytes = liveBytes
        self.liveObjects = liveObjects ?? EpochSeries(liveBytes.lazy.map { $0 > 0 ? 1 : 0 })
        self.unreferencedBytes = unreferencedBytes ?? EpochSeries(zeros: liveBytes.count)
        self.unreferencedObjects = unreferencedObjects ?? EpochSeries(self.unreferencedBytes.lazy.map { $0 > 0 ? 1 : 0 })
        self.births = births
    }

    /// The same from arrays (tests and simulations).
    public init(stackID: UInt32, liveBytes: [Double], liveObjects: [Double]? = nil,
                unreferencedBytes: [Double]? = nil, unreferencedObjects: [Double]? = nil, births: [LiveCell] = []) {
        self.init(stackID: stackID, liveBytes: EpochSeries(liveBytes), liveObjects: liveObjects.map(EpochSeries.init),
                  unreferencedBytes: unreferencedBytes.map(EpochSeries.init),
                  unreferencedObjects: unreferencedObjects.map(EpochSeries.init), births: births)
        self.births = births
    }

    /// The live figures at the epoch the timeline shows (0 where the site has no figure).
    public func liveBytes(shownIn timeline: EpochTimeline) -> Double {
        let i = timeline.shownEpochIndex
        return liveBytes.indices.contains(i) ? liveBytes[i] : (liveBytes.last ?? 0)
    }

    public func liveObjects(shownIn timeline: EpochTimeline) -> Double {
        let i = timeline.shownEpochIndex
        return liveObjects.indices.contains(i) ? liveObjects[i] : (liveObjects.last ?? 0)
    }
}
