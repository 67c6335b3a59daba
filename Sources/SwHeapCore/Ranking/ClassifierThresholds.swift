// Every number the shape classifier compares against, in one place (documented in docs/REPORT.md).

public struct ClassifierThresholds: Hashable, Sendable {
    /// Fewer epochs than this: no trend, exit-time evidence only.
    public var minimumEpochsForTrend = 3
    /// A growth verdict needs at least this many analysed epochs (5 rising points are the
    /// fewest for which Kendall's test can reach `minimumSignificance`).
    public var minimumEpochsForGrowth = 5
    /// Kendall tau over the growth window.
    public var minimumTau = 0.5
    /// Kendall normal score over the growth window (about p < 0.025, one-sided).
    public var minimumSignificance = 2.0
    /// Rise over the window, relative to the peak.
    public var minimumRelativeRise = 0.1
    /// Absolute rise over the window, bytes.
    public var minimumRiseBytes = 256.0
    /// Below this retention of older births, objects are being released: a rise must then be
    /// very steady (`turnoverTau`, `turnoverEndRatio`) to count as growth.
    public var releasedRetention = 0.5
    public var turnoverTau = 0.8
    public var turnoverEndRatio = 0.6
    public var turnoverSecondHalfTau = 0.6
    /// ...and its second half must rise by this many standard deviations of sampling noise.
    public var turnoverNoiseMultiple = 3.0
    /// Without survival evidence (too few samples born early), or with retention below
    /// `partialRetention`, the second half must rise by this many standard deviations.
    public var unknownSurvivalNoiseMultiple = 2.0
    public var partialRetention = 0.8
    /// Late growth: first-half slope at most this fraction of the second-half slope.
    public var lateGrowthRatio = 0.25
    /// Repeated drops (fills then releases) that make a sawtooth.
    public var sawtoothDrops = 2
    /// Live bytes at the end below this share of the peak: released.
    public var releasedShare = 0.01
    /// Share of last live bytes born in the first quarter of the run: one-time.
    public var oneTimeEarlyShare = 0.9
    /// Plateau: early level at most this fraction of the late level (it rose)...
    public var plateauRiseRatio = 0.67
    /// ...or older births retained at most this much while births continue (turnover).
    public var plateauRetention = 0.5
    /// Unreferenced share of a site's live bytes at exit that makes `leaked-at-exit`.
    public var leakedAtExitShare = 0.01

    public init() {}
}
