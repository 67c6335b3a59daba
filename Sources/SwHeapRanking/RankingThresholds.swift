// Every number ranking compares against or weighs with, in one place (documented in
// docs/REPORT.md): the trend, survival and shape thresholds and the score's tiers and weights.
// The statistics code holds no constant of its own.

public struct RankingThresholds: Hashable, Sendable {
    // MARK: Trend (LiveTrend)

    /// The fewest analysed epochs in a trend window.
    public var minimumWindow = 5
    /// Longer runs are thinned to this many evenly spaced epochs (the statistics are quadratic).
    public var maximumPoints = 64
    /// A final dump at or below this fraction of the one before is exit-handler teardown.
    public var teardownFraction = 0.5
    /// Still rising at the end: the second-half slope is at least this fraction of the slope.
    public var risingEndRatio = 0.3
    /// An end where the overall pace would put fewer samples than this says nothing by its
    /// flatness (a steady leak leaves such a stretch without a sample e^-5 = 0.7% of the time):
    /// it reaches back in time until it holds this many (`LiveTrend.endRises`).
    public var minimumFlatEndSamples = 5.0
    /// A drop falls to this fraction of the running peak or less...
    public var dropFraction = 0.5
    /// ...by at least this share of the series' peak...
    public var dropShareOfPeak = 0.25
    /// ...and by this many standard deviations of sampling noise.
    public var dropNoiseMultiple = 3.0
    /// The next drop counts only after a refill to this multiple of the trough.
    public var refillRatio = 2.0

    // MARK: Survival (BirthSurvival)

    /// Fewer sampled objects than this (3, with rounding slack) say nothing about survival.
    public var minimumSurvivalSamples = 2.5

    // MARK: Turning points (ShapeClassifier)

    /// Growth starts after the last epoch within this fraction of the rise above the baseline.
    public var onsetTolerance = 0.1
    /// A plateau is reached at the first epoch at this fraction of the final level.
    public var plateauLevel = 0.9

    // MARK: Shapes (ShapeClassifier)

    /// Fewer epochs than this: no trend, exit-time evidence only.
    public var minimumEpochsForTrend = 3
    /// A rise needs at least this many analysed epochs (5 rising points are the fewest for
    /// which Kendall's test can reach `minimumSignificance`).
    public var minimumEpochsForRise = 5
    /// A rise seen over fewer analysed epochs than this is `too-few-epochs`, not `growing`: a
    /// cache still filling (the accuracy fixture's fills in 4 epochs, then evicts) rises like a
    /// leak and keeps most of what it holds until it is full.
    public var minimumEpochsForGrowth = 8
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
    /// ...and its second half must rise by this many standard deviations of sampling noise
    /// (taken at the higher of its two ends: see `ShapeClassifier.risingNoise`). Four, not
    /// three: a cache's sampled level wanders (entries stay sampled for several epochs) and the
    /// rise is looked for in many windows and prefixes: at 3σ (lower end's noise) 3 of 400
    /// simulated 24-epoch caches of the accuracy program were called growing, at 4σ 0 of 2,000.
    public var turnoverNoiseMultiple = 4.0
    /// Without survival evidence (too few samples born early), or with retention below
    /// `partialRetention`, the second half must rise by this many standard deviations.
    public var unknownSurvivalNoiseMultiple = 2.0
    public var partialRetention = 0.8
    /// Sparse samples: growth shown by survival needs at least this many sampled objects born
    /// in the second half and alive at the end (with the older ones retained): 1, with
    /// rounding slack (a sample's worth is recomputed from estimates, 0.99999 is one sample).
    public var minimumLateBornSamples = 0.5
    /// Fewer than `minimumShapeSamples`: growing only when at least this share of every sampled
    /// object seen is still alive (a leak frees nothing; a small cache's few samples die).
    public var sparseRetention = 0.95
    /// A buffer grown by doubling (realloc): its objects' mean size rises by at least this
    /// factor at each step...
    public var doublingStep = 1.5
    /// ...in at least this many steps, each a new high by that factor...
    public var doublingSteps = 3
    /// ...never falling below this share of its highest level...
    public var doublingHold = 0.8
    /// ...and it is still doubling while the time since its last step is at most this multiple
    /// of the time between its last two steps (filled at a steady pace, each doubling takes
    /// twice as long as the one before; later than that, it has stopped).
    public var doublingOverdue = 2.5
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
    /// A sampled site that is not growing gets a bounded shape (plateau, sawtooth, stable) only
    /// with at least this many sampled objects live at its peak: with fewer, a cache, a batch,
    /// a start-up table and a slow leak look alike, and the verdict is "too few samples".
    public var minimumShapeSamples = 8.0
    /// Unreferenced share of a site's live bytes at exit that makes `leaked-at-exit`.
    public var leakedAtExitShare = 0.01

    // MARK: Score (LeakScore)

    /// Score tiers: growing in [growingFloor, 1], leaked-at-exit in [leakedFloor, leakedCeiling],
    /// the rest in [0, otherCeiling], so a verdict always outranks a weaker one.
    public var growingFloor = 0.5
    public var leakedFloor = 0.2
    public var leakedCeiling = 0.49
    public var otherCeiling = 0.19
    /// Growing: weights of tau, retention, end slope and share of growth (they sum to 1)...
    public var tauWeight = 0.35
    public var retentionWeight = 0.35
    public var endSlopeWeight = 0.15
    public var growthShareWeight = 0.15
    /// ...the retention assumed when survival is unknown...
    public var unknownRetention = 0.5
    /// ...and, when the exit scan ran, the evidence and the unreferenced share blended thus.
    public var scannedEvidenceWeight = 0.85
    public var unreferencedWeight = 0.15
    /// Leaked at exit: weights of the site's unreferenced share and its share of the process's.
    public var leakedShareWeight = 0.2
    public var leakedProcessShareWeight = 0.09
    /// Not a suspect: a trend still rising at the end weighs fully, otherwise by this factor.
    public var flatteningWeight = 0.5

    // MARK: Leak roots (LeakRoots)

    /// A root is at most this many user frames above each member site.
    public var rootCallerDepth = 3
    /// Live bytes scaled to their peak differ by at most this at every epoch...
    public var rootCurveDistance = 0.1
    /// ...plus this many standard deviations of the scaled values' sampling noise.
    public var rootCurveNoiseMultiple = 3.0

    // MARK: Listing (ProcessRanking)

    /// Non-suspects are listed from this share of the process's live bytes.
    public var notableShare = 0.01

    public init() {}
}
