// The accuracy program (Tests/Fixtures/accuracy.c) simulated at the default rate with fixed
// seeds: what scripts/accuracy measures under the real preload, checked here on every test
// run. A leak of 10·R over 24 epochs is called growing, the bounded FIFO cache never is; a
// rise over fewer than 8 epochs is `too-few-epochs`, never `growing`; one sampled object is
// worth one sample (the shim charges s + 1 bytes: a 256-byte leak's late sample once counted
// 0.996 and the leak was called a plateau).
import XCTest
@testable import SwHeapDump
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class RankingDefaultRateTests: XCTestCase {
    let rate = 512.0 * 1024
    let classifier = ShapeClassifier()

    /// leak_Kx: K·R bytes of 256-byte objects, evenly over the epochs, then the final dump.
    func leak(_ multiple: Double, epochs: Int, seed: UInt64) -> (SiteHistory, EpochTimeline) {
        var heap = HeapSimulator(rate: rate, seed: seed)
        let total = Int(multiple * rate / 256)
        var made = 0
        for epoch in 1...epochs {
            let due = total * epoch / epochs - made
            for _ in 0..<due { _ = heap.allocate(256) }
            made += due
            heap.dump()
        }
        heap.dump()
        return (heap.history(), heap.timeline(final: true))
    }

    /// cache_put: a FIFO of 20·R in 512-byte entries, a quarter replaced each epoch (full after
    /// 4 epochs, then turning over). `final`: a final dump as at exit; otherwise a prefix.
    func cache(epochs: Int, seed: UInt64, final: Bool) -> (SiteHistory, EpochTimeline) {
        var heap = HeapSimulator(rate: rate, seed: seed)
        let capacity = Int(20 * rate / 512)
        var ring = [HeapSimulator.Handle?](repeating: nil, count: capacity)
        var next = 0
        for _ in 1...epochs {
            for _ in 0..<(capacity / 4) {
                let slot = next % capacity
                next += 1
                if let old = ring[slot] { heap.free(old) }
                ring[slot] = heap.allocate(512)
            }
            heap.dump()
        }
        if final { heap.dump() }
        return (heap.history(), heap.timeline(final: final))
    }

    func testLeakOfTenTimesTheRateOverTwentyFourEpochsIsGrowing() {
        var growing = 0
        for seed in 1...200 as ClosedRange<UInt64> {
            let (site, timeline) = leak(10, epochs: 24, seed: seed)
            if classifier.assess(site, timeline: timeline).verdict == .growing { growing += 1 }
        }
        // About 10 samples each: only runs with 2-3 samples (Poisson tails) may be missed.
        XCTAssertGreaterThanOrEqual(growing, 192, "\(growing)/200 growing")
    }

    func testBoundedCacheIsNeverGrowingFromEightEpochsOn() {
        for epochs in [8, 9, 13, 24] {
            for seed in 1...60 as ClosedRange<UInt64> {
                let (site, timeline) = cache(epochs: epochs, seed: seed, final: epochs == 24)
                let result = classifier.assess(site, timeline: timeline)
                XCTAssertNotEqual(result.verdict, .growing, "\(epochs) epochs, seed \(seed): \(ReasonText.reason(for: result))")
            }
        }
    }

    /// Five epochs of a cache still filling look like a leak; so do five epochs of a leak.
    /// Neither is called growing: both are too-few-epochs, and the reason says what would settle it.
    func testRiseOverFewEpochsIsTooFewEpochs() {
        var cacheVerdicts: [Verdict: Int] = [:]
        for seed in 1...60 as ClosedRange<UInt64> {
            let (site, timeline) = cache(epochs: 5, seed: seed, final: false)
            cacheVerdicts[classifier.assess(site, timeline: timeline).verdict, default: 0] += 1
        }
        XCTAssertNil(cacheVerdicts[.growing], "\(cacheVerdicts)")
        XCTAssertGreaterThan(cacheVerdicts[.tooFewEpochs, default: 0], 0, "\(cacheVerdicts)")

        var heap = HeapSimulator(rate: rate, seed: 3)
        for _ in 1...5 {
            for _ in 0..<Int(10 * rate / 256) { _ = heap.allocate(256) }   // 10 samples an epoch
            heap.dump()
        }
        let short = classifier.assess(heap.history(), timeline: heap.timeline())
        XCTAssertEqual(short.verdict, .tooFewEpochs)
        let reason = ReasonText.reason(for: short)
        XCTAssertTrue(reason.hasPrefix("rising over 5 epochs"), reason)
        XCTAssertTrue(reason.contains("3 more dumps would settle it"), reason)
        // Three more epochs of the same: growing.
        for _ in 1...3 {
            for _ in 0..<Int(10 * rate / 256) { _ = heap.allocate(256) }
            heap.dump()
        }
        XCTAssertEqual(classifier.assess(heap.history(), timeline: heap.timeline()).verdict, .growing)
    }

    func testOneSampledObjectIsWorthOneSample() {
        for size in [1.0, 256, 4096, 300_000] {
            let p = -expm1(-(size + 1) / rate)   // the shim's sampler.c
            XCTAssertEqual(SamplingNoise.expectedSamples(objects: 1 / p, meanSize: size, rate: rate), 1, accuracy: 1e-9)
        }
    }

    /// A real run's leak_10x (scripts/accuracy, run 43 of an 80-run measurement): 9 samples,
    /// 8 by epoch 13 and one born in epoch 22, every one alive at exit. Called a plateau while
    /// the late sample counted 0.996; growing since.
    func testLeakWithOneLateSampleFromARealRunIsGrowing() {
        let p = -expm1(-257 / rate)
        let born: [(epoch: UInt32, samples: Int)] = [(2, 1), (6, 2), (7, 1), (11, 1), (12, 1), (13, 2), (22, 1)]
        var live: [Double] = [], objects: [Double] = [], births: [LiveCell] = []
        for index in 0..<26 {
            let epoch = UInt32(min(index + 1, 25))   // 25 periodic dumps, then the final one
            var count = 0
            for cell in born where cell.epoch <= epoch {
                count += cell.samples
                births.append(LiveCell(epochIndex: index, birthEpoch: cell.epoch, liveObjects: Double(cell.samples) / p,
                                       liveBytes: 256 * Double(cell.samples) / p))
            }
            objects.append(Double(count) / p)
            live.append(256 * Double(count) / p)
        }
        let timeline = EpochTimeline(elapsedSeconds: (1...26).map { Double($0) / 10 }, endsWithFinalDump: true,
                                     lastEpochScanned: false, samplingRate: rate)
        let result = classifier.assess(SiteHistory(stackID: 1, liveBytes: live, liveObjects: objects, births: births),
                                       timeline: timeline)
        XCTAssertEqual(result.verdict, .growing, ReasonText.reason(for: result))
    }
    /// A thinned timeline as SWHEAP_KEEP leaves it: 40 epochs 10 minutes apart, then the last
    /// 60 dense, 10 s apart. A slow leak of 2 KiB records sampled once per old epoch:
    /// `samplesUntil` seconds of it, one sample per 600 s, none in the dense tail.
    /// With a seed, the samples come at Poisson times of the same pace.
    func thinnedSlowLeak(samplesUntil end: Double, seed: UInt64? = nil) -> (SiteHistory, EpochTimeline) {
        let times = (1...40).map { Double($0) * 600 } + (1...60).map { 24_000 + Double($0) * 10 }
        let p = -expm1(-2049 / rate)
        var sampledAt = stride(from: 300.0, to: end, by: 600).map { $0 }
        if let seed {
            var generator = SplitMix64(offsetSeed: seed)
            sampledAt = []
            var t = -600 * log(Double.random(in: Double.ulpOfOne...1, using: &generator))
            while t < end {
                sampledAt.append(t)
                t += -600 * log(Double.random(in: Double.ulpOfOne...1, using: &generator))
            }
        }
        var live: [Double] = [], objects: [Double] = [], births: [LiveCell] = []
        for (index, time) in times.enumerated() {
            let born = sampledAt.filter { $0 <= time }
            for birth in born {
                births.append(LiveCell(epochIndex: index, birthEpoch: UInt32(birth / 10) + 1, liveObjects: 1 / p,
                                       liveBytes: 2048 / p))
            }
            objects.append(Double(born.count) / p)
            live.append(2048 * Double(born.count) / p)
        }
        let timeline = EpochTimeline(elapsedSeconds: times, epochNumbers: times.map { UInt64($0 / 10) },
                                     samplingRate: rate)
        return (SiteHistory(stackID: 1, liveBytes: live, liveObjects: objects, births: births), timeline)
    }

    /// The dense tail spans 2% of the run: at the leak's pace it expects under one sample, so
    /// its flatness is no evidence of levelling off (ShimBudgetTests once read such a leak as
    /// "levelled off"). A store that stopped filling half-way or three quarters of the way
    /// (flat for 20 or 11 samples' worth of its pace, every object kept) is not growing.
    func testFlatDenseTailOfASlowSampledLeakIsNotALevellingOff() {
        let (leak, leakTimeline) = thinnedSlowLeak(samplesUntil: 24_000)
        let growing = classifier.assess(leak, timeline: leakTimeline)
        XCTAssertEqual(growing.verdict, .growing, ReasonText.reason(for: growing))
        for end: Double in [12_000, 18_000] {
            let (stopped, stoppedTimeline) = thinnedSlowLeak(samplesUntil: end)
            let bounded = classifier.assess(stopped, timeline: stoppedTimeline)
            XCTAssertNotEqual(bounded.verdict, .growing, "until \(end): " + ReasonText.reason(for: bounded))
        }
    }

    /// The same at Poisson sample times, 100 seeds: the leak nearly always growing, the stores
    /// that stopped filling nearly never.
    func testThinnedSlowLeakAcrossSeeds() {
        var leaks = 0, stores = 0
        for seed in 1...100 as ClosedRange<UInt64> {
            let (leak, leakTimeline) = thinnedSlowLeak(samplesUntil: 24_600, seed: seed)
            if classifier.assess(leak, timeline: leakTimeline).verdict == .growing { leaks += 1 }
            let (store, storeTimeline) = thinnedSlowLeak(samplesUntil: 12_000 + Double(seed % 2) * 6_000, seed: seed)
            if classifier.assess(store, timeline: storeTimeline).verdict == .growing { stores += 1 }
        }
        XCTAssertGreaterThanOrEqual(leaks, 90, "leak growing in \(leaks)/100")
        XCTAssertLessThanOrEqual(stores, 5, "stopped store growing in \(stores)/100")
    }
}
