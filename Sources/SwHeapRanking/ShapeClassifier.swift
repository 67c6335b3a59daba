// Decides the shape and verdict of one site from its trend and birth-epoch survival.
// Order matters: sawtooth before growth (batches are released, whatever their trend), growth
// before the bounded shapes, and exit-time evidence last (it cannot beat a trend, only add to it).

public struct ShapeClassifier: Sendable {
    public var thresholds: RankingThresholds

    public init(thresholds: RankingThresholds = RankingThresholds()) {
        self.thresholds = thresholds
    }

    public func assess(_ site: SiteHistory, timeline: EpochTimeline) -> SiteAssessment {
        let n = min(timeline.count, site.liveBytes.count)
        let scan = site.figuresAtScan(in: timeline)
        let unreferenced = scan?.unreferencedBytes
        var assessment = SiteAssessment(
            shape: .exitOnly, verdict: .stable, trend: nil, survival: nil, epochCount: n,
            turningEpoch: nil, growthBytesPerSecond: 0, liveBytes: site.liveBytes(shownIn: timeline),
            liveObjects: site.liveObjects(shownIn: timeline), unreferencedBytes: unreferenced, grownBytes: 0)
        assessment.samplingRate = timeline.samplingRate
        // Shares are of what was live at the scan (at exit, or a live scan before the last dump).
        if let scan, timeline.scannedIndex != timeline.shownEpochIndex {
            assessment.exitLiveBytes = scan.liveBytes
            assessment.exitLiveObjects = scan.liveObjects
        } else if scan == nil, timeline.shownEpochIndex != timeline.count - 1 {
            assessment.exitLiveBytes = site.liveBytes.last ?? 0
            assessment.exitLiveObjects = site.liveObjects.last ?? 0
        }
        assessment.unreferencedObjects = scan?.unreferencedObjects
        if scan != nil { assessment.liveScanEpoch = timeline.liveScanEpoch }
        assessment.samplesNeeded = thresholds.minimumShapeSamples
        assessment.epochsNeeded = thresholds.minimumEpochsForGrowth

        if n >= thresholds.minimumEpochsForTrend {
            let times = Array(timeline.elapsedSeconds.prefix(n)), bytes = Array(site.liveBytes.prefix(n))
            let noise = (0..<n).map {
                SamplingNoise.standardDeviation(liveBytes: site.liveBytes[$0], liveObjects: site.liveObjects[$0],
                                                rate: timeline.samplingRate)
            }
            let trend = LiveTrend(liveBytes: bytes, elapsedSeconds: times, endsWithFinalDump: timeline.endsWithFinalDump,
                                  noise: noise, samplingRate: timeline.samplingRate, thresholds: thresholds)
            let lastIndex = n - 1 - (trend.ignoredTeardown ? 1 : 0)
            let analysedTimes = Array(times.prefix(lastIndex + 1)), analysedBytes = Array(bytes.prefix(lastIndex + 1))
            let survival = BirthSurvival(births: site.births, timeline: timeline,
                                         windowStart: onsetIndex(analysedBytes), lastIndex: lastIndex, thresholds: thresholds)
            assessment.trend = trend
            assessment.survival = survival
            let riseNoise = Self.risingNoise(site, timeline: timeline, lastIndex: lastIndex)
            assessment.peakSamples = Self.peakSamples(site, timeline: timeline, lastIndex: lastIndex)
            let doubling = Self.doubling(bytes: Array(site.liveBytes.prefix(lastIndex + 1)),
                                         objects: Array(site.liveObjects.prefix(lastIndex + 1)), times: analysedTimes,
                                         thresholds: thresholds)
            assessment.shape = shape(trend: trend, survival: survival, noise: riseNoise, samples: assessment.peakSamples,
                                     doubling: doubling != nil)
            if ![.growing, .tooFewEpochs].contains(assessment.shape.verdict), let samples = assessment.peakSamples,
               samples < thresholds.minimumShapeSamples {
                assessment.shape = .tooFewSamples
            }
            assessment.grownBytes = max(0, trend.slope * ((analysedTimes.last ?? 0) - (analysedTimes.first ?? 0)))

            let epoch = { (index: Int) in timeline.epochNumbers[index] }
            switch assessment.shape {
            case .lateGrowth:
                let onset = onsetIndex(analysedBytes)
                assessment.turningEpoch = timeline.epochNumbers[onset]
                assessment.growthBytesPerSecond = LiveTrend.slope(times: analysedTimes, bytes: analysedBytes, from: onset,
                                                                  maximumPoints: thresholds.maximumPoints)
                assessment.growthWindow = epoch(onset)...epoch(lastIndex)
            case .growthWithTurnover where doubling != nil:
                // From the level before the first doubling to the end: between doublings the
                // size is flat, so a robust slope would say nothing.
                let from = doubling!.lowerBound - 1
                assessment.turningEpoch = epoch(doubling!.upperBound)
                assessment.growthBytesPerSecond = max(0, (analysedBytes[lastIndex] - analysedBytes[from])
                    / max(analysedTimes[lastIndex] - analysedTimes[from], 1e-9))
                assessment.grownBytes = max(0, analysedBytes[lastIndex] - analysedBytes[from])
                assessment.growthWindow = epoch(from)...epoch(lastIndex)
            case .steadyGrowth, .growthWithTurnover, .tooFewEpochs:
                assessment.growthBytesPerSecond = trend.slope
                assessment.growthWindow = epoch(trend.windowStart)...epoch(lastIndex)
            case .plateau:
                // What a plateau rests on: flat since it was reached.
                let reached = plateauIndex(analysedBytes)
                assessment.turningEpoch = epoch(reached)
                assessment.growthBytesPerSecond = reached < lastIndex
                    ? LiveTrend.slope(times: analysedTimes, bytes: analysedBytes, from: reached, maximumPoints: thresholds.maximumPoints)
                    : 0
                assessment.growthWindow = epoch(reached)...epoch(lastIndex)
            default:
                assessment.growthBytesPerSecond = trend.secondHalfSlope
                assessment.growthWindow = epoch(lastIndex - lastIndex / 2)...epoch(lastIndex)
            }
            // Sparse samples: a step-shaped series can have a zero median slope while growing.
            if [.growing, .tooFewEpochs].contains(assessment.shape.verdict) && assessment.growthBytesPerSecond <= 0,
               let first = analysedTimes.first, let last = analysedTimes.last, last > first {
                assessment.growthBytesPerSecond = max(0, (analysedBytes.last! - analysedBytes.first!) / (last - first))
                assessment.grownBytes = max(assessment.grownBytes, analysedBytes.last! - analysedBytes.first!)
                assessment.growthWindow = epoch(0)...epoch(lastIndex)
            }
        }
        assessment.verdict = assessment.shape.verdict
        if assessment.verdict != .growing, let share = assessment.unreferencedShare,
           share >= thresholds.leakedAtExitShare, (unreferenced ?? 0) > 0 || (assessment.unreferencedObjects ?? 0) > 0 {
            assessment.verdict = .leakedAtExit
        }
        return assessment
    }

    func shape(trend: LiveTrend, survival: BirthSurvival, noise: RiseNoise, samples: Double? = nil,
               doubling: Bool = false) -> SiteShape {
        let t = thresholds
        if trend.drops >= t.sawtoothDrops { return .sawtooth }
        // Re-allocated ever larger by doubling: flat between doublings, but doubling still.
        if doubling && trend.analysedCount >= t.minimumEpochsForGrowth { return .growthWithTurnover }
        if isGrowing(trend, survival, noise, samples: samples) {
            // A rise over a handful of epochs: a cache still filling looks the same.
            if trend.analysedCount < t.minimumEpochsForGrowth { return .tooFewEpochs }
            if let retention = effectiveRetention(survival), retention < t.releasedRetention { return .growthWithTurnover }
            if trend.secondHalfSlope > 0 && trend.firstHalfSlope <= t.lateGrowthRatio * trend.secondHalfSlope {
                return .lateGrowth
            }
            return .steadyGrowth
        }
        if trend.peakBytes <= 0 || trend.lastBytes <= t.releasedShare * trend.peakBytes { return .released }
        if let early = survival.earlyShare, early >= t.oneTimeEarlyShare, !trend.risesAtEnd { return .oneTime }
        if rose(trend) { return .plateau }
        if let retention = survival.retention, retention <= t.plateauRetention, survival.birthsContinue { return .plateau }
        return .flat
    }

    func isGrowing(_ trend: LiveTrend, _ survival: BirthSurvival, _ noise: RiseNoise, samples: Double?) -> Bool {
        let t = thresholds
        // A handful of samples bunched at the end look like a late leak whether they come from
        // a leak or from a small cache: with few samples, growth needs every sampled object kept.
        if let samples, samples < t.minimumShapeSamples,
           (survival.overallRetention ?? 0) < t.sparseRetention { return false }
        guard trend.analysedCount >= t.minimumEpochsForRise,
              trend.tau >= t.minimumTau,
              trend.significance >= t.minimumSignificance,
              (trend.relativeRise >= t.minimumRelativeRise && trend.relativeRise * trend.peakBytes >= t.minimumRiseBytes
                && trend.risesAtEnd) || survivalShowsGrowth(survival) else { return false }
        let retention = effectiveRetention(survival)
        // Old objects are being freed: only a very steady rise, well beyond sampling noise, is
        // growth (an ever larger buffer, a backlog). Sampled estimates of a cache are
        // autocorrelated (its entries stay sampled for a while), so noise alone can look
        // like a rise of several epochs.
        let secondHalfRise = trend.secondHalfSlope * noise.secondHalfSeconds
        if let retention, retention < t.releasedRetention {
            return trend.tau >= t.turnoverTau && trend.secondHalfTau >= t.turnoverSecondHalfTau
                && trend.secondHalfSlope >= t.turnoverEndRatio * trend.slope
                && secondHalfRise >= t.turnoverNoiseMultiple * noise.standardDeviation
        }
        // No survival evidence, or only partial retention: the rise must at least clear the noise.
        if (retention ?? 0) < t.partialRetention {
            return secondHalfRise >= t.unknownSurvivalNoiseMultiple * noise.standardDeviation
        }
        return true
    }

    /// Samples the site's busiest analysed epoch is worth (`SamplingNoise.effectiveSamples`); nil at rate 1 (exact).
    static func peakSamples(_ site: SiteHistory, timeline: EpochTimeline, lastIndex: Int) -> Double? {
        guard timeline.samplingRate > 1 else { return nil }
        return (0...lastIndex).map { i -> Double in
            let objects = site.liveObjects[i]
            return SamplingNoise.effectiveSamples(objects: objects, meanSize: objects > 0 ? site.liveBytes[i] / objects : 0,
                                                  rate: timeline.samplingRate)
        }.max() ?? 0
    }

    /// Retention of the older births, or of every birth when that is lower: a site whose
    /// objects are evicted all along is not a leak because its recent births survive.
    func effectiveRetention(_ survival: BirthSurvival) -> Double? {
        switch (survival.retention, survival.overallRetention) {
        case let (older?, overall?): return min(older, overall)
        case let (older, overall): return older ?? overall
        }
    }

    /// Sparse samples make step-shaped series whose robust slopes are zero though every
    /// sampled object survives: growth is then shown by survival itself (nothing old freed,
    /// overall or among the older births) and by samples born in the second half still alive.
    func survivalShowsGrowth(_ survival: BirthSurvival) -> Bool {
        let t = thresholds
        guard let older = survival.retention, let overall = survival.overallRetention else { return false }
        return older >= t.partialRetention && overall >= t.partialRetention
            && survival.lateBornSamples >= t.minimumLateBornSamples
    }

    /// Sampling noise of the second half's rise, between its start and the end. Under "no
    /// growth" both ends share one level, and the higher end's variance stands for both: the
    /// lower end's own estimate understates the noise exactly when a dip makes a spurious rise
    /// (a cache's sampled entries stay for several epochs, so its dips and rises persist).
    struct RiseNoise {
        var standardDeviation: Double
        var secondHalfSeconds: Double
    }

    static func risingNoise(_ site: SiteHistory, timeline: EpochTimeline, lastIndex: Int) -> RiseNoise {
        let start = lastIndex - lastIndex / 2
        func sd(_ i: Int) -> Double {
            SamplingNoise.standardDeviation(liveBytes: site.liveBytes[i], liveObjects: site.liveObjects[i],
                                            rate: timeline.samplingRate)
        }
        let variance = 2 * max(sd(start) * sd(start), sd(lastIndex) * sd(lastIndex))
        return RiseNoise(standardDeviation: variance.squareRoot(),
                         secondHalfSeconds: timeline.elapsedSeconds[lastIndex] - timeline.elapsedSeconds[start])
    }

    /// A buffer grown by doubling (a vector, a log buffer re-allocated twice as large when
    /// full): epochs where live bytes rose to a new high of `doublingStep` times every level
    /// before and the mean size of the site's live objects rose as much, at least
    /// `doublingSteps` of them, the level never falling back below `doublingHold` of its
    /// highest (flat between doublings: a buffer only grows), and the next doubling not
    /// overdue. The mean object size tells it from a cache or a leak filling up, whose
    /// objects stay the size they are. Returns the first and last doubling's epoch indices.
    static func doubling(bytes: [Double], objects: [Double], times: [Double],
                         thresholds t: RankingThresholds) -> ClosedRange<Int>? {
        let n = min(bytes.count, objects.count, times.count)
        guard n >= 2 else { return nil }
        func meanSize(_ i: Int) -> Double { objects[i] > 0 ? bytes[i] / objects[i] : 0 }
        var steps: [Int] = []
        var peak = bytes[0]
        for i in 1..<n {
            if bytes[i] < t.doublingHold * peak { return nil }
            if peak > 0, meanSize(i - 1) > 0, bytes[i] >= t.doublingStep * peak,
               meanSize(i) >= t.doublingStep * meanSize(i - 1) {
                steps.append(i)
            }
            peak = max(peak, bytes[i])
        }
        guard steps.count >= t.doublingSteps, let last = steps.last, let first = steps.first else { return nil }
        let gap = times[last] - times[steps[steps.count - 2]]
        guard gap > 0, times[n - 1] - times[last] <= t.doublingOverdue * gap else { return nil }
        return first...last
    }

    /// The series rose: its early level is well below its late level.
    func rose(_ trend: LiveTrend) -> Bool {
        trend.lateLevel > 0 && trend.earlyLevel <= thresholds.plateauRiseRatio * trend.lateLevel
    }

    /// The epoch index where growth began: just after the last time live bytes were at their
    /// early baseline (median of the first half, plus a tenth of the rise above it).
    func onsetIndex(_ bytes: [Double]) -> Int {
        let baseline = RobustStatistics.median(Array(bytes.prefix((bytes.count + 1) / 2)))
        let tolerance = thresholds.onsetTolerance * ((bytes.max() ?? 0) - baseline)
        let lastAtBaseline = bytes.lastIndex { $0 <= baseline + tolerance } ?? 0
        return min(lastAtBaseline + 1, bytes.count - 1)
    }

    /// The epoch index where a plateau was reached: the first within a tenth of the final level.
    func plateauIndex(_ bytes: [Double]) -> Int {
        let level = RobustStatistics.median(Array(bytes.suffix((bytes.count + 1) / 2)))
        return bytes.firstIndex { $0 >= thresholds.plateauLevel * level } ?? 0
    }
}
