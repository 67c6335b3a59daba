// The shim's sampling maths and its countdown, unit-tested through the same C sources.

import CSwHeap
import XCTest

final class SamplerTests: XCTestCase {
    /// Sampling probability per allocation must be 1 - exp(-(size + 1)/R), whatever the size.
    func testSampledFractionMatchesPoissonProbability() {
        let rate: UInt64 = 4096
        for size in [16, 512, 4096, 40960] as [UInt64] {
            var sampler = sw_sampler()
            let trials = 200_000
            var hits = 0
            for _ in 0..<trials where sw_sampler_take(&sampler, size, rate) { hits += 1 }
            let p = -expm1(-Double(size + 1) / Double(rate)) // charged size + 1
            let sd = (Double(trials) * p * (1 - p)).squareRoot()
            XCTAssertEqual(Double(hits), Double(trials) * p, accuracy: max(6 * sd, 3), "size \(size)")
        }
    }

    /// Per-sample weights make the byte estimate unbiased on a stack of mixed sizes.
    func testWeightedEstimateIsUnbiasedForMixedSizes() {
        let rate: UInt64 = 65536
        var sampler = sw_sampler()
        var truth = 0.0, estimate = 0.0, variance = 0.0
        for i in 0..<400_000 {
            let size: UInt64 = i % 1000 == 0 ? 300_000 : 24
            truth += Double(size)
            let p = -expm1(-Double(size + 1) / Double(rate))
            variance += Double(size) * Double(size) * (1 - p) / p
            if sw_sampler_take(&sampler, size, rate) { estimate += sw_sample_weight(size, rate).bytes }
        }
        XCTAssertEqual(estimate, truth, accuracy: 6 * variance.squareRoot())
    }

    func testRateOneRecordsEverythingWithUnitWeight() {
        var sampler = sw_sampler()
        for size in [0, 1, 7, 1 << 20] as [UInt64] {
            XCTAssertTrue(sw_sampler_take(&sampler, size, 1))
            let w = sw_sample_weight(size, 1)
            XCTAssertEqual(w.objects, 1)
            XCTAssertEqual(w.bytes, Double(size))
        }
    }

    func testRateZeroNeverSamples() {
        var sampler = sw_sampler()
        for _ in 0..<1000 { XCTAssertFalse(sw_sampler_take(&sampler, 1 << 20, 0)) }
    }

    /// The one countdown: an allocation of s bytes is charged s + 1, the countdown holds the
    /// bytes to the next point minus one; expired (and left untouched) once an allocation
    /// reaches the point, whatever the size, malloc(0) included; never negative.
    func testCountdownChargeExpiresAtZeroAndNeverWraps() {
        var sampler = sw_sampler()
        sampler.countdown = 100
        XCTAssertFalse(sw_countdown_charge(&sampler, 40))
        XCTAssertEqual(sampler.countdown, 59)
        XCTAssertFalse(sw_countdown_charge(&sampler, 58))
        XCTAssertEqual(sampler.countdown, 0)
        XCTAssertTrue(sw_countdown_charge(&sampler, 0), "a zero-byte allocation reaches the point too")
        XCTAssertEqual(sampler.countdown, 0, "an expired countdown is left for the sampler to re-arm")
        sampler.countdown = 5
        XCTAssertFalse(sw_countdown_charge(&sampler, 0))
        XCTAssertEqual(sampler.countdown, 4, "malloc(0) is charged one byte")
        sampler.countdown = Int64.max
        XCTAssertTrue(sw_countdown_charge(&sampler, UInt64.max - 1), "sizes of 2^63 and more expire it")
        XCTAssertTrue(sw_countdown_charge(&sampler, 1 << 63))
        XCTAssertEqual(sampler.countdown, Int64.max)
        var fresh = sw_sampler()
        XCTAssertTrue(sw_countdown_charge(&fresh, 0), "a zero countdown has not been drawn yet")
    }

    /// A loop of malloc(0) at the default rate: sampled now and then, and by count unbiased.
    func testZeroByteAllocationsAreSampledByCount() {
        let rate: UInt64 = 512 * 1024
        var sampler = sw_sampler()
        var objects = 0.0, bytes = 0.0
        let n = 20_000_000
        for _ in 0..<n where sw_sampler_take(&sampler, 0, rate) {
            let w = sw_sample_weight(0, rate)
            objects += w.objects
            bytes += w.bytes
        }
        // About 38 samples; each stands for about 512 Ki objects. 6 sigma of a Poisson count.
        let expected = Double(n) / Double(rate)
        XCTAssertEqual(objects / Double(rate), expected, accuracy: 6 * expected.squareRoot())
        XCTAssertEqual(bytes, 0)
    }

    /// The first allocation of a thread is not sampled just because its countdown starts at zero.
    func testFirstCountdownIsDrawnLazily() {
        var firstSampled = 0
        for _ in 0..<2000 {
            var sampler = sw_sampler()
            if sw_sampler_take(&sampler, 64, 1 << 19) { firstSampled += 1 }
        }
        XCTAssertLessThan(firstSampled, 10)
    }
}
