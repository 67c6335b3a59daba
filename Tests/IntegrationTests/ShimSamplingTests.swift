// At a sampling rate the estimates must be unbiased: inside bounds of six standard
// deviations of the Poisson sampling estimator (never flaky), yet tight enough to reject
// pprof's legacy scaling of a stack by its average size, which is 30% off on mixed sizes.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimSamplingTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    /// Expected value and standard deviation of the estimated bytes and objects for a set of
    /// allocations sampled independently at `rate`.
    private func bounds(sizes: [(size: Double, count: Double)], rate: Double) -> (bytes: Double, bytesSD: Double,
                                                                                   objects: Double, objectsSD: Double) {
        var bytes = 0.0, bytesVar = 0.0, objects = 0.0, objectsVar = 0.0
        for (size, count) in sizes {
            let p = -expm1(-(size + 1) / rate) // an allocation of s bytes is charged s + 1
            bytes += size * count
            objects += count
            bytesVar += count * size * size * (1 - p) / p
            objectsVar += count * (1 - p) / p
        }
        return (bytes, bytesVar.squareRoot(), objects, objectsVar.squareRoot())
    }

    func testSampledEstimatesFallWithinStatisticalBounds() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("sampled.c", into: dir)
        let rate = 65536.0
        let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: UInt64(rate))
        XCTAssertEqual(result.status, 0, result.stderr)
        let sites = try XCTUnwrap(store.processes.first).figuresBySite(functions: try Harness.functions(of: exe))
        let mixed = try XCTUnwrap(sites["site_mixed"])
        let fixed = try XCTUnwrap(sites["site_fixed"])

        let mixedAlloc = bounds(sizes: [(32, 1_000_000), (262_144, 100)], rate: rate)
        XCTAssertEqual(mixed.allocBytes, mixedAlloc.bytes, accuracy: 6 * mixedAlloc.bytesSD, "\(mixed)")
        XCTAssertEqual(mixed.allocObjects, mixedAlloc.objects, accuracy: 6 * mixedAlloc.objectsSD, "\(mixed)")
        let mixedLive = bounds(sizes: [(32, 500_000), (262_144, 100)], rate: rate)
        XCTAssertEqual(mixed.liveBytes, mixedLive.bytes, accuracy: 6 * mixedLive.bytesSD, "\(mixed)")
        // The bound must be tight enough to catch average-size scaling (about 35% low here).
        XCTAssertLessThan(6 * mixedAlloc.bytesSD / mixedAlloc.bytes, 0.2)

        let fixedAlloc = bounds(sizes: [(100, 1_000_000)], rate: rate)
        XCTAssertEqual(fixed.allocBytes, fixedAlloc.bytes, accuracy: 6 * fixedAlloc.bytesSD, "\(fixed)")
        let fixedLive = bounds(sizes: [(100, 750_000)], rate: rate)
        XCTAssertEqual(fixed.liveObjects, fixedLive.objects, accuracy: 6 * fixedLive.objectsSD, "\(fixed)")
        XCTAssertEqual(try XCTUnwrap(store.processes.first).rate, UInt64(rate))
    }

    /// A loop leaking malloc(0) blocks is visible by count at the default rate: each block is
    /// charged one byte, so 8 M of them give about 15 samples of about 512 Ki objects each.
    func testZeroByteLeakIsVisibleByCountAtTheDefaultRate() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("zeroes.c", into: dir)
        let rate = 524_288.0, n = 8_000_000.0
        let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: UInt64(rate))
        XCTAssertEqual(result.status, 0, result.stderr)
        let sites = try XCTUnwrap(store.processes.first).figuresBySite(functions: try Harness.functions(of: exe))
        let zero = try XCTUnwrap(sites["site_zero"], "no malloc(0) block was sampled")
        // Samples are Poisson with mean n/R (15.3); 6 sigma either side, in objects.
        let samples = n / rate, sd = samples.squareRoot()
        XCTAssertEqual(zero.liveObjects / rate, samples, accuracy: 6 * sd, "\(zero)")
        XCTAssertEqual(zero.liveBytes, 0)
    }
}
