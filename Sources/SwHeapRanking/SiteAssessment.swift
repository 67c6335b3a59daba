// The classifier's conclusion about one site, with the evidence behind it.

public struct SiteAssessment: Hashable, Sendable {
    public var shape: SiteShape
    public var verdict: Verdict
    /// Nil when there were too few epochs for a trend.
    public var trend: LiveTrend?
    public var survival: BirthSurvival?
    /// Epochs in the process (including a final dump).
    public var epochCount: Int
    /// Epoch number where growth began (late growth) or the plateau was reached.
    public var turningEpoch: UInt64?
    /// Current pace: over the growth for growing sites, since the plateau for a plateau, over
    /// the second half otherwise; measured over `growthWindow`.
    public var growthBytesPerSecond: Double
    /// The epoch numbers `growthBytesPerSecond` is measured over, first and last.
    public var growthWindow: ClosedRange<UInt64>? = nil
    /// Live bytes and objects at the last epoch (the final dump when there is one).
    public var liveBytes: Double
    public var liveObjects: Double
    /// Unreferenced bytes at the last epoch; nil when it was not scanned.
    public var unreferencedBytes: Double?
    /// Samples the live estimate at the site's peak is worth (for objects much smaller than the
    /// rate: the sampled objects live then); nil when every allocation was
    /// recorded (rate 1: the figures are exact, however few).
    public var peakSamples: Double?
    /// The sampling rate the samples were taken at (bytes), for "what would settle it".
    public var samplingRate: Double = 1
    /// The unreferenced figures are from a live scan in this epoch, not from the exit scan.
    public var liveScanEpoch: UInt64? = nil
    /// The samples a bounded shape needs (`RankingThresholds.minimumShapeSamples`).
    public var samplesNeeded: Double = 0
    /// The analysed epochs a growth verdict needs (`RankingThresholds.minimumEpochsForGrowth`).
    public var epochsNeeded: Int = 0
    /// Growth seen over the analysed epochs (bytes), for ranking by size.
    public var grownBytes: Double
    /// Unreferenced objects at the last epoch; nil when it was not scanned.
    public var unreferencedObjects: Double? = nil

    /// Live figures at the last epoch, the scanned one, when the figures above are shown at an
    /// earlier epoch (`EpochTimeline.shownIndex`: the program freed its heap at exit). The
    /// exit scan's shares are of these.
    public var exitLiveBytes: Double? = nil
    public var exitLiveObjects: Double? = nil

    public var referencedBytes: Double? { unreferencedBytes.map { max(0, (exitLiveBytes ?? liveBytes) - $0) } }
    /// Share of the site's live bytes that nothing points to at exit; of its live objects for
    /// a site of empty blocks (no bytes).
    public var unreferencedShare: Double? {
        let liveBytes = exitLiveBytes ?? self.liveBytes, liveObjects = exitLiveObjects ?? self.liveObjects
        return unreferencedBytes.map { bytes in
            if liveBytes > 0 { return min(1, bytes / liveBytes) }
            guard liveObjects > 0, let objects = unreferencedObjects else { return 0 }
            return min(1, objects / liveObjects)
        }
    }
}
