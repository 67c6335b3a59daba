import XCTest
@testable import SwHeapDump
@testable import SwHeapRanking
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class RankingShapeTests: XCTestCase {
    let classifier = ShapeClassifier()

    func testExactScenariosGetTheirShape() {
        let expected: [Scenario: SiteShape] = [
            .steadyLeak: .steadyGrowth, .lateLeak: .lateGrowth, .boundedCache: .plateau,
            .batches: .sawtooth, .startupTable: .oneTime, .boundedReallocBuffer: .oneTime,
            .unboundedReallocBuffer: .growthWithTurnover,
        ]
        for scenario in Scenario.allCases {
            let (site, timeline) = scenario.simulate()
            let result = classifier.assess(site, timeline: timeline)
            XCTAssertEqual(result.shape, expected[scenario], "\(scenario)")
            XCTAssertEqual(result.verdict == .growing, scenario.isLeak, "\(scenario)")
        }
    }

    /// Rate 64 KiB with 1 KiB objects: about 1.5 sampled objects per epoch for the leaks and
    /// about 11 live samples (±30%) for the cache. Leaks must nearly always be found, bounded
    /// sites must nearly never be called growing.
    func testSampledScenariosAcrossSeeds() {
        for scenario in Scenario.allCases {
            var growing = 0
            for seed in 1...200 as ClosedRange<UInt64> {
                let (site, timeline) = scenario.simulate(rate: 64 * 1024, seed: seed)
                if classifier.assess(site, timeline: timeline).verdict == .growing { growing += 1 }
            }
            if scenario.isLeak {
                XCTAssertGreaterThanOrEqual(growing, 185, "\(scenario): only \(growing)/200 growing")
            } else {
                XCTAssertLessThanOrEqual(growing, 2, "\(scenario): \(growing)/200 growing")
            }
        }
    }

    /// A long run gives Poisson noise many chances to dip below half its peak; that alone
    /// must not read as batches, nor wander into growth.
    func testLongSampledCacheIsNeitherSawtoothNorGrowing() {
        var wrong: [SiteShape] = []
        for seed in 1...100 as ClosedRange<UInt64> {
            let (site, timeline) = Scenario.boundedCache.simulate(epochs: 40, rate: 64 * 1024, seed: seed)
            let shape = classifier.assess(site, timeline: timeline).shape
            if shape == .sawtooth || shape.verdict == .growing { wrong.append(shape) }
        }
        XCTAssertLessThanOrEqual(wrong.count, 2, "\(wrong)")
    }

    /// An array appended to at a steady pace, re-allocated twice as large when full, for
    /// `epochs` epochs of which the appending lasts `appending`: flat between doublings,
    /// each doubling twice as long after the one before.
    static func doublingArray(epochs: Int, appending: Int, rate: Double, seed: UInt64 = 1) -> (SiteHistory, EpochTimeline) {
        var heap = HeapSimulator(rate: rate, seed: seed)
        var capacity = 256.0 * 1024, used = 0.0
        var array = heap.allocate(capacity)
        for e in 1...epochs {
            if e <= appending {
                used += 128 * 1024
                while used > capacity {
                    capacity *= 2
                    array = heap.reallocate(array, to: capacity)
                }
            }
            heap.dump()
        }
        return (heap.history(), heap.timeline())
    }

    /// Still doubling at the end (the last doubling at epoch 16 of 24, the next due at 32):
    /// growing, at the pace of its doublings, over the epochs they span; exact and sampled.
    func testArrayGrownByDoublingIsGrowing() {
        for rate: Double in [1, 64 * 1024] {
            for seed in 1...20 as ClosedRange<UInt64> {
                let (site, timeline) = Self.doublingArray(epochs: 24, appending: 24, rate: rate, seed: seed)
                let a = classifier.assess(site, timeline: timeline)
                XCTAssertEqual(a.verdict, .growing, "rate \(rate) seed \(seed): \(a.shape) \(site.liveBytes)")
                XCTAssertEqual(a.shape, .growthWithTurnover, "rate \(rate) seed \(seed)")
                XCTAssertGreaterThan(a.growthBytesPerSecond, 0)
                XCTAssertEqual(a.growthWindow?.upperBound, 24, "rate \(rate) seed \(seed)")
                if rate == 1 { break }
            }
        }
    }

    /// Doubled at epochs 3, 5 and 9 while filling up to epoch 10, then never again (flat for
    /// 15 epochs, the next doubling due by epoch 19 at that pace): bounded, not growing.
    func testArrayThatStoppedDoublingIsNotGrowing() {
        for rate: Double in [1, 64 * 1024] {
            let (site, timeline) = Self.doublingArray(epochs: 24, appending: 10, rate: rate)
            let a = classifier.assess(site, timeline: timeline)
            XCTAssertNotEqual(a.verdict, .growing, "rate \(rate): \(a.shape) \(site.liveBytes)")
        }
    }

    /// The growth figure is the one the verdict rests on: a plateau's is measured since the
    /// plateau was reached (about zero), a growing site's over its growth window.
    func testGrowthFigureAgreesWithTheVerdict() {
        let (cache, cacheTimeline) = Scenario.boundedCache.simulate(epochs: 24)
        let plateau = classifier.assess(cache, timeline: cacheTimeline)
        XCTAssertEqual(plateau.verdict, .plateau)
        XCTAssertEqual(plateau.growthBytesPerSecond, 0, accuracy: 1e-9)
        XCTAssertEqual(plateau.growthWindow?.lowerBound, plateau.turningEpoch)
        XCTAssertEqual(plateau.growthWindow?.upperBound, 24)
        let (leak, leakTimeline) = Scenario.lateLeak.simulate(epochs: 24)
        let growing = classifier.assess(leak, timeline: leakTimeline)
        XCTAssertEqual(growing.verdict, .growing)
        XCTAssertEqual(growing.growthWindow?.lowerBound, growing.turningEpoch)
        XCTAssertGreaterThan(growing.growthBytesPerSecond, 0)
    }

    func testSampledCacheAndLeakWithFixedSeed() {
        let (cache, cacheTimeline) = Scenario.boundedCache.simulate(rate: 64 * 1024, seed: 7)
        XCTAssertEqual(classifier.assess(cache, timeline: cacheTimeline).verdict, .plateau)
        let (leak, leakTimeline) = Scenario.steadyLeak.simulate(rate: 64 * 1024, seed: 7)
        XCTAssertEqual(classifier.assess(leak, timeline: leakTimeline).verdict, .growing)
    }

    /// ±30% independent noise on a flat level never makes a sawtooth or growth; the same noise
    /// on a leak over 24 epochs still reads as growth.
    func testMultiplicativeNoiseOnSeriesWithoutBirths() {
        var generator = SplitMix64(offsetSeed: 3)
        let times = (1...24).map { Double($0) * 5 }
        let timeline = EpochTimeline(elapsedSeconds: times)
        for _ in 0..<50 {
            let flat = times.map { _ in 1_000_000 * Double.random(in: 0.7...1.3, using: &generator) }
            let result = classifier.assess(SiteHistory(stackID: 1, liveBytes: flat), timeline: timeline)
            XCTAssertNotEqual(result.verdict, .growing)
            XCTAssertNotEqual(result.verdict, .sawtooth)
        }
        let rising = times.map { $0 * 10_000 * Double.random(in: 0.7...1.3, using: &generator) }
        XCTAssertEqual(classifier.assess(SiteHistory(stackID: 1, liveBytes: rising), timeline: timeline).verdict, .growing)
    }

    func testTooFewEpochsGiveExitOnlyVerdicts() {
        let timeline = EpochTimeline(elapsedSeconds: [5], endsWithFinalDump: true, lastEpochScanned: true)
        let lost = SiteHistory(stackID: 1, liveBytes: [4096], liveObjects: [4], unreferencedBytes: [4096])
        let held = SiteHistory(stackID: 2, liveBytes: [4096], liveObjects: [4], unreferencedBytes: [0])
        XCTAssertEqual(classifier.assess(lost, timeline: timeline).verdict, .leakedAtExit)
        XCTAssertEqual(classifier.assess(lost, timeline: timeline).shape, .exitOnly)
        XCTAssertEqual(classifier.assess(held, timeline: timeline).verdict, .stable)
    }

    func testTeardownDropInFinalDumpIsIgnored() {
        let (site, timeline) = Scenario.steadyLeak.simulate()
        var withTeardown = site
        withTeardown.liveBytes.append(0)
        withTeardown.liveObjects.append(0)
        withTeardown.unreferencedBytes.append(0)
        var finalTimeline = timeline
        finalTimeline.elapsedSeconds.append(130)
        finalTimeline.epochNumbers.append(13)
        finalTimeline.endsWithFinalDump = true
        let result = classifier.assess(withTeardown, timeline: finalTimeline)
        XCTAssertEqual(result.verdict, .growing)
        XCTAssertEqual(result.trend?.ignoredTeardown, true)
    }

    func testBoundedCacheUnreferencedAtExitIsLeakedAtExit() {
        let (cache, timeline) = Scenario.boundedCache.simulate()
        var scanned = cache
        scanned.unreferencedBytes = EpochSeries(cache.unreferencedBytes.dropLast() + [100 * 1024])
        var scannedTimeline = timeline
        scannedTimeline.lastEpochScanned = true
        let result = classifier.assess(scanned, timeline: scannedTimeline)
        XCTAssertEqual(result.shape, .plateau)
        XCTAssertEqual(result.verdict, .leakedAtExit)
    }
}
