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
    /// The index of the latest epoch that carries unreferenced figures (the shim's scan for
    /// pointers, at exit or while the process ran); nil: none does.
    public var scannedIndex: Int?
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
        self.scannedIndex = lastEpochScanned && !elapsedSeconds.isEmpty ? elapsedSeconds.count - 1 : nil
    }

    /// The last epoch carries unreferenced figures; setting it makes the last epoch the scanned one.
    public var lastEpochScanned: Bool {
        get { scannedIndex != nil && scannedIndex == count - 1 }
        set { scannedIndex = newValue && count > 0 ? count - 1 : nil }
    }

    /// The sites' figures at the scan come from the scan's own record (`SiteHistory.atScan`,
    /// carried by every dump after a scan), not from an epoch's series: the scan's epoch may be
    /// one retention removed (`scannedIndex` is then nil).
    public var carriedScan = false
    /// With a carried scan that ran while the process did: the epoch it ran in.
    public var liveScanEpoch: UInt64? = nil

    /// Whether the sites have figures from a scan.
    public var isScanned: Bool { carriedScan || (scannedIndex.map { $0 >= 0 && $0 < count } ?? false) }

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
    /// Live and unreferenced figures at the scan, with a carried scan (`EpochTimeline.carriedScan`;
    /// nil: the site held nothing then).
    public var atScan: ScanFigures? = nil
    /// Where the shortest path to the site's nearest referenced block began at the scan.
    public var heldBy: ScanHolder? = nil
    /// The unreferenced components the site's unreferenced blocks belonged to at the scan.
    public var unreferencedComponents: [UInt32] = []

    /// What the scan found of this site: from `atScan` with a carried scan, else from the
    /// scanned epoch's series; nil when the timeline has no scan.
    public func figuresAtScan(in timeline: EpochTimeline) -> ScanFigures? {
        if timeline.carriedScan { return atScan ?? ScanFigures() }
        guard let i = timeline.scannedIndex, i >= 0, i < liveBytes.count, i < unreferencedBytes.count else { return nil }
        return ScanFigures(liveBytes: liveBytes[i], liveObjects: liveObjects[i], unreferencedBytes: unreferencedBytes[i],
                           unreferencedObjects: i < unreferencedObjects.count ? unreferencedObjects[i] : 0)
    }

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

/// One site as a scan found it: what was live, and what of it nothing referenced.
public struct ScanFigures: Hashable, Sendable {
    public var liveBytes: Double = 0
    public var liveObjects: Double = 0
    public var unreferencedBytes: Double = 0
    public var unreferencedObjects: Double = 0

    public init(liveBytes: Double = 0, liveObjects: Double = 0, unreferencedBytes: Double = 0, unreferencedObjects: Double = 0) {
        self.liveBytes = liveBytes; self.liveObjects = liveObjects
        self.unreferencedBytes = unreferencedBytes; self.unreferencedObjects = unreferencedObjects
    }

    static func + (a: ScanFigures, b: ScanFigures) -> ScanFigures {
        ScanFigures(liveBytes: a.liveBytes + b.liveBytes, liveObjects: a.liveObjects + b.liveObjects,
                    unreferencedBytes: a.unreferencedBytes + b.unreferencedBytes,
                    unreferencedObjects: a.unreferencedObjects + b.unreferencedObjects)
    }
}
