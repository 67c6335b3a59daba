// A verdict that knows its evidence: with few sampled objects no site is called plateau,
// sawtooth or stable; with enough, growing stays growing. Fixed seeds over the simulator.
import XCTest
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapTestSupport

final class RankingEvidenceTests: XCTestCase {
    let classifier = ShapeClassifier()
    let defaultRate = 512.0 * 1024

    /// At the default rate, 1 KiB objects, 256 per epoch over 20 epochs: the leak gets about
    /// 10 expected samples; the cache (7 epochs' worth) about 3.5, the start-up table 2.5.
    func testBoundedSitesWithFewSamplesAreNeverGivenABoundedShape() {
        for scenario in [Scenario.boundedCache, .batches, .startupTable] {
            var shapes: [SiteShape: Int] = [:]
            for seed in 1...100 as ClosedRange<UInt64> {
                let (site, timeline) = scenario.simulate(epochs: 20, rate: defaultRate, seed: seed, perEpoch: 256)
                let result = classifier.assess(site, timeline: timeline)
                shapes[result.shape, default: 0] += 1
                if let samples = result.peakSamples, samples < classifier.thresholds.minimumShapeSamples {
                    XCTAssertTrue([.tooFewSamples, .steadyGrowth, .lateGrowth, .growthWithTurnover].contains(result.shape),
                                  "\(scenario) seed \(seed): \(result.shape) on \(samples) samples")
                }
            }
            XCTAssertEqual(shapes[.steadyGrowth, default: 0] + shapes[.lateGrowth, default: 0]
                           + shapes[.growthWithTurnover, default: 0], 0, "\(scenario): \(shapes)")
            XCTAssertGreaterThanOrEqual(shapes[.tooFewSamples, default: 0], 80, "\(scenario): \(shapes)")
        }
    }

    func testLeakWithTenExpectedSamplesOverTwentyEpochsStaysGrowing() {
        var growing = 0
        for seed in 1...200 as ClosedRange<UInt64> {
            let (site, timeline) = Scenario.steadyLeak.simulate(epochs: 20, rate: defaultRate, seed: seed, perEpoch: 256)
            if classifier.assess(site, timeline: timeline).verdict == .growing { growing += 1 }
        }
        XCTAssertGreaterThanOrEqual(growing, 180, "\(growing)/200 growing")
    }

    /// Enough samples: the cache is a plateau again, not "too few samples".
    func testCacheWithManySamplesIsAPlateau() {
        let (site, timeline) = Scenario.boundedCache.simulate(epochs: 20, rate: 16 * 1024, seed: 5, perEpoch: 256)
        let result = classifier.assess(site, timeline: timeline)
        XCTAssertGreaterThan(result.peakSamples ?? 0, 50)
        XCTAssertEqual(result.verdict, .plateau)
    }

    /// Exact runs (rate 1) are exact however few the objects: never "too few samples".
    func testExactRunsNeverLackSamples() {
        let (site, timeline) = Scenario.startupTable.simulate(perEpoch: 1)
        let result = classifier.assess(site, timeline: timeline)
        XCTAssertNil(result.peakSamples)
        XCTAssertEqual(result.verdict, .stable)
    }

    func testReasonSaysTheCountAndWhatWouldSettleIt() {
        let (site, timeline) = Scenario.boundedCache.simulate(epochs: 20, rate: defaultRate, seed: 3, perEpoch: 256)
        let result = classifier.assess(site, timeline: timeline)
        XCTAssertEqual(result.verdict, .tooFewSamples)
        let samples = Int((result.peakSamples ?? 0).rounded())
        let reason = ReasonText.reason(for: result)
        XCTAssertTrue(reason.hasPrefix("too few samples: \(samples) live at most"), reason)
        XCTAssertTrue(reason.contains("8 needed"), reason)
        // The suggested rate would give the 8 samples: rate × samples / 8.
        let suggested = Int((defaultRate * (result.peakSamples ?? 0) / 8).rounded(.down))
        XCTAssertTrue(reason.contains("--rate \(suggested)"), reason)
        XCTAssertTrue(reason.contains("× as long"), reason)
    }
}
