// How one site's live bytes move over the epochs: the numbers the shape classifier reads.

/// Trend figures of one site's live bytes.
public struct LiveTrend: Hashable, Sendable {
    /// Epochs analysed (a teardown drop in the final dump is left out, see `init`).
    public var analysedCount: Int
    /// The final dump was left out because live bytes fell by half or more at exit.
    public var ignoredTeardown: Bool
    /// Start (epoch index) of the window with the most significant rise.
    public var windowStart: Int
    /// Kendall tau-b of (time, live bytes) over that window: 1 = every step rises.
    public var tau: Double
    /// Normal score of Kendall's S over that window (≥ 2 is unlikely for a flat series).
    public var significance: Double
    /// Rise over the window (Theil–Sen slope × window length) relative to the peak.
    public var relativeRise: Double
    /// Theil–Sen slopes (bytes/s) over all analysed epochs, their first half and second half.
    public var slope: Double
    public var firstHalfSlope: Double
    public var secondHalfSlope: Double
    /// Kendall tau-b over the second half alone: is it still climbing now?
    public var secondHalfTau: Double
    /// Large falls (to half the preceding peak or less, after a refill): batch releases.
    public var drops: Int
    public var peakBytes: Double
    public var lastBytes: Double
    /// Medians of the first quarter and of the second half: did it rise from where it began?
    public var earlyLevel: Double
    public var lateLevel: Double

    /// Still rising at the end: the second half climbs at a good fraction of the overall pace
    /// (`RankingThresholds.risingEndRatio`); see `endRises` for sparse samples.
    public var risesAtEnd: Bool
}

extension LiveTrend {
    /// - Parameters:
    ///   - noise: standard deviation of each epoch's estimate (sampling noise), if known.
    ///   - samplingRate: mean bytes between samples (1: every allocation recorded).
    public init(liveBytes allBytes: [Double], elapsedSeconds allTimes: [Double], endsWithFinalDump: Bool,
                noise allNoise: [Double]? = nil, samplingRate: Double = 1, thresholds: RankingThresholds = RankingThresholds()) {
        var bytes = allBytes, times = allTimes
        var noise = allNoise ?? allBytes.map { _ in 0 }
        // A final dump written after exit handlers freed caches says nothing about the run.
        let teardown = endsWithFinalDump && bytes.count >= 3
            && bytes[bytes.count - 1] <= thresholds.teardownFraction * bytes[bytes.count - 2]
        if teardown { bytes.removeLast(); times.removeLast(); noise.removeLast() }
        let picks = Self.thinnedIndices(count: times.count, maximumPoints: thresholds.maximumPoints)
        times = picks.map { times[$0] }
        bytes = picks.map { bytes[$0] }
        noise = picks.map { noise[$0] }

        let n = bytes.count
        analysedCount = n
        ignoredTeardown = teardown
        peakBytes = bytes.max() ?? 0
        lastBytes = bytes.last ?? 0
        drops = Self.countDrops(bytes, noise: noise, peak: peakBytes, thresholds: thresholds)
        earlyLevel = RobustStatistics.median(Array(bytes.prefix(max(1, n / 4))))
        lateLevel = RobustStatistics.median(Array(bytes.suffix((n + 1) / 2)))
        slope = RobustStatistics.theilSenSlope(x: times, y: bytes)
        let half = (n + 1) / 2
        firstHalfSlope = RobustStatistics.theilSenSlope(x: Array(times.prefix(half)), y: Array(bytes.prefix(half)))
        secondHalfSlope = RobustStatistics.theilSenSlope(x: Array(times.suffix(half)), y: Array(bytes.suffix(half)))
        secondHalfTau = RobustStatistics.kendallTau(x: Array(times.suffix(half)), y: Array(bytes.suffix(half)))
        risesAtEnd = Self.endRises(times: times, bytes: bytes, slope: slope, secondHalfSlope: secondHalfSlope,
                                   samplingRate: samplingRate, thresholds: thresholds)

        // The window with the strongest evidence of a rise. Windows cover at least the last
        // third so that a late start is seen without letting a short noisy tail decide.
        // Kendall's S of every suffix comes from one pass over the pairs (row sums, last row first).
        let minimum = max(thresholds.minimumWindow, (n + 2) / 3)
        var best = (start: 0, tau: 0.0, z: 0.0)
        if n >= minimum {
            var score = 0.0, untiedX = 0.0, untiedY = 0.0
            for start in stride(from: n - 1, through: 0, by: -1) {
                for j in (start + 1)..<n {
                    let dx = times[j] - times[start], dy = bytes[j] - bytes[start]
                    if dx != 0 { untiedX += 1 }
                    if dy != 0 { untiedY += 1 }
                    if dx != 0 && dy != 0 { score += (dx > 0) == (dy > 0) ? 1 : -1 }
                }
                guard n - start >= minimum else { continue }
                let z = RobustStatistics.kendallZ(score: score, count: n - start)
                if z >= best.z {   // ties go to the earlier (longer) window
                    let denominator = (untiedX * untiedY).squareRoot()
                    best = (start, denominator > 0 ? score / denominator : 0, z)
                }
            }
        }
        windowStart = picks.isEmpty ? 0 : picks[best.start]
        tau = best.tau
        significance = best.z
        let windowSlope = n >= 2 ? RobustStatistics.theilSenSlope(x: Array(times[best.start...]), y: Array(bytes[best.start...])) : 0
        let duration = n >= 2 ? times[n - 1] - times[best.start] : 0
        relativeRise = peakBytes > 0 ? max(0, windowSlope * duration / peakBytes) : 0
    }

    /// Whether the end still climbs at `risingEndRatio` of the overall pace. The second half is
    /// counted in epochs, and a thinned timeline's recent epochs are dense: its second half can
    /// be a few minutes of a day, where a slow sampled leak shows no new sample. So when the
    /// pace would put fewer than `minimumFlatEndSamples` samples in it, the end reaches back in
    /// time until it would, and its rise (last level minus the level where it starts: a leak's
    /// samples only add) is compared with the pace over that time. The pace is the larger of
    /// the slope and the run's rise per second: the slope's pairs are mostly dense epochs.
    static func endRises(times: [Double], bytes: [Double], slope: Double, secondHalfSlope: Double,
                         samplingRate: Double, thresholds t: RankingThresholds) -> Bool {
        let n = bytes.count
        guard slope > 0, n >= 2 else { return false }
        if secondHalfSlope >= t.risingEndRatio * slope { return true }
        let pace = max(slope, (bytes[n - 1] - bytes[0]) / max(times[n - 1] - times[0], 1e-9))
        let samplesPerSecond = pace / max(samplingRate, 1)
        var start = n - (n + 1) / 2
        guard samplingRate > 1, samplesPerSecond * (times[n - 1] - times[start]) < t.minimumFlatEndSamples else { return false }
        while start > 0 && samplesPerSecond * (times[n - 1] - times[start]) < t.minimumFlatEndSamples { start -= 1 }
        return bytes[n - 1] - bytes[start] >= t.risingEndRatio * pace * (times[n - 1] - times[start])
    }

    /// At most `maximumPoints` evenly spaced epochs, always keeping the first and the last,
    /// so ranking stays fast on long runs (the statistics are quadratic).
    static func thinnedIndices(count: Int, maximumPoints: Int) -> [Int] {
        guard count > maximumPoints else { return Array(0..<count) }
        return (0..<maximumPoints).map { $0 * (count - 1) / (maximumPoints - 1) }
    }

    /// Counts fill-and-release cycles. A drop is a fall to half the running peak or less, by
    /// more than three standard deviations of sampling noise; the next one counts only after a
    /// refill to twice the trough, so a slow decay or ±30% noise (0.7/1.3 > 0.5) never counts.
    /// (The numbers are `RankingThresholds`' drop and refill fields.)
    static func countDrops(_ bytes: [Double], noise: [Double], peak globalPeak: Double,
                           thresholds t: RankingThresholds) -> Int {
        guard var peak = bytes.first else { return 0 }
        var peakNoise = noise.first ?? 0
        var trough = 0.0, rising = true, drops = 0
        let significant = t.dropShareOfPeak * globalPeak
        for (value, valueNoise) in zip(bytes, noise).dropFirst() {
            if rising {
                let fall = peak - value
                if value <= t.dropFraction * peak && fall >= significant
                    && fall >= t.dropNoiseMultiple * (peakNoise * peakNoise + valueNoise * valueNoise).squareRoot() {
                    drops += 1; rising = false; trough = value
                } else if value > peak {
                    peak = value; peakNoise = valueNoise
                }
            } else if value >= t.refillRatio * trough && value - trough >= significant {
                rising = true; peak = value; peakNoise = valueNoise
            } else {
                trough = min(trough, value)
            }
        }
        return drops
    }
}

extension LiveTrend {
    /// Theil–Sen slope (bytes/s) from epoch index `start` on, thinned like the trend itself.
    static func slope(times: [Double], bytes: [Double], from start: Int, maximumPoints: Int) -> Double {
        let x = Array(times[start...]), y = Array(bytes[start...])
        let picks = thinnedIndices(count: x.count, maximumPoints: maximumPoints)
        return RobustStatistics.theilSenSlope(x: picks.map { x[$0] }, y: picks.map { y[$0] })
    }
}
