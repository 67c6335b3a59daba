// The exit scan: sampled objects nothing points to are "unreferenced", LeakSanitizer-style.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimScanTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    func testUnreferencedVerdictsFollowLeakSanitizerSemantics() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("references.c", into: dir)
        let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: 1)
        XCTAssertEqual(result.status, 0, result.stderr)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertTrue(process.isScanned)
        let sites = process.figuresBySite(functions: try Harness.functions(of: exe))
        for referenced in ["site_global", "site_thread_stack", "site_tls", "site_middle", "site_via_heap", "site_holder"] {
            let f = try XCTUnwrap(sites[referenced], referenced)
            XCTAssertGreaterThan(f.liveBytes, 0, referenced)
            XCTAssertEqual(f.unreferencedBytes, 0, "\(referenced) is still referenced: \(f)")
        }
        for dropped in ["site_dropped", "site_self", "site_cycle"] {
            let f = try XCTUnwrap(sites[dropped], dropped)
            XCTAssertGreaterThan(f.liveBytes, 0, dropped)
            XCTAssertEqual(f.unreferencedBytes, f.liveBytes, "\(dropped) is unreferenced: \(f)")
        }
    }

    func testScanCanBeTurnedOff() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("references.c", into: dir)
        let (_, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: 1,
                                             extra: ["SWHEAP_SCAN": "0"])
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertFalse(process.isScanned)
        XCTAssertEqual(process.totals[process.lastEpochIndex].unreferencedBytes, 0)
    }
}
