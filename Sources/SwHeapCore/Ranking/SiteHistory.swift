// The ranker's input, decoupled from how dumps are stored: the times of a process's epochs and,
// per allocation site, its live figures at each epoch plus the birth epochs of what is live.
// Tests build these directly; `SiteHistory+HeapStore.swift` builds them from a ProcessHeap.

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

    public init(elapsedSeconds: [Double], epochNumbers: [UInt64]? = nil,
                endsWithFinalDump: Bool = false, lastEpochScanned: Bool = false, samplingRate: Double = 1) {
        self.elapsedSeconds = elapsedSeconds
        self.samplingRate = samplingRate
        self.epochNumbers = epochNumbers ?? elapsedSeconds.indices.map { UInt64($0 + 1) }
        self.endsWithFinalDump = endsWithFinalDump
        self.lastEpochScanned = lastEpochScanned
    }

    public var count: Int { elapsedSeconds.count }

    /// The index of the first epoch whose dump can contain objects born in `birthEpoch`
    /// (dumps may be missing, e.g. a run killed mid-write). Nil if born after the last dump.
    public func index(ofBirthEpoch birthEpoch: UInt64) -> Int? {
        epochNumbers.firstIndex { $0 >= birthEpoch }
    }
}

/// Live objects of one site observed at one epoch, born in one epoch.
public struct BirthShare: Hashable, Sendable {
    /// Index into the timeline of the dump that observed them.
    public var epochIndex: Int
    /// The epoch number in which they were allocated.
    public var birthEpoch: UInt64
    public var liveObjects: Double
    public var liveBytes: Double

    public init(epochIndex: Int, birthEpoch: UInt64, liveObjects: Double, liveBytes: Double) {
        self.epochIndex = epochIndex; self.birthEpoch = birthEpoch
        self.liveObjects = liveObjects; self.liveBytes = liveBytes
    }
}

/// One allocation site (a deduplicated stack) across the epochs of its process.
public struct SiteHistory: Hashable, Sendable {
    public var stackID: UInt32
    /// Aligned with the timeline's epochs.
    public var liveBytes: [Double]
    public var liveObjects: [Double]
    /// Unreferenced bytes per epoch; meaningful only where the epoch was scanned.
    public var unreferencedBytes: [Double]
    public var births: [BirthShare]

    public init(stackID: UInt32, liveBytes: [Double], liveObjects: [Double]? = nil,
                unreferencedBytes: [Double]? = nil, births: [BirthShare] = []) {
        self.stackID = stackID
        self.liveBytes = liveBytes
        self.liveObjects = liveObjects ?? liveBytes.map { $0 > 0 ? 1 : 0 }
        self.unreferencedBytes = unreferencedBytes ?? liveBytes.map { _ in 0 }
        self.births = births
    }

    public var lastLiveBytes: Double { liveBytes.last ?? 0 }
}
