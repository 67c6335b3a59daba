// A holder path as the reports print it and JSON lists it: root first, each recorded block
// named by its site (or its size when not sampled), the blocks a long path leaves out counted
// where they are left out.

import XCTest
@testable import SwHeapOutput

final class HeldByTextTests: XCTestCase {
    func testAShortPathNamesEveryBlock() {
        let held = HeldBy(kind: .global, name: "cache_table", module: "server", thread: nil, address: 0x1000, blocksBetween: 2,
                          steps: [.init(index: 0, site: "Cache::grow", size: 4096, offset: 16),
                                  .init(index: 1, site: nil, size: 48, offset: 0)])
        XCTAssertEqual(held.text, "global cache_table (server) → Cache::grow block +16 → unsampled 48 B block → this site")
    }

    func testALongPathCountsWhatItLeavesOut() {
        // 12 blocks between; the shim keeps the first 4 and the last 4.
        let kept: [UInt32] = [0, 1, 2, 3, 8, 9, 10, 11]
        let held = HeldBy(kind: .stack, name: "serve", module: nil, thread: 42, address: 0x7000, blocksBetween: 12,
                          steps: kept.map { .init(index: $0, site: "node", size: 32, offset: 8) })
        XCTAssertEqual(held.between.count, 9)
        XCTAssertEqual(held.between[4], .omitted(4))
        XCTAssertTrue(held.text.hasPrefix("the stack of thread 42 (in serve) → node block +8 → "), held.text)
        XCTAssertTrue(held.text.contains("node block +8 → 4 more blocks → node block +8"), held.text)
        let json = ReportJSON.HeldByStep.path(held)
        XCTAssertEqual(json.map(\.kind), ["stack"] + Array(repeating: "heap", count: 4) + ["omitted"] + Array(repeating: "heap", count: 4))
        XCTAssertEqual(json[5].blocks, 4)
    }

    func testAPathWhoseEndIsLeftOutSaysSo() {
        // Only the first steps were recorded (the rest did not fit): the end is counted.
        let held = HeldBy(kind: .pthreadKey, name: "3", module: nil, thread: 7, address: 0x9000, blocksBetween: 3,
                          steps: [.init(index: 0, site: "a", size: 16, offset: 0)])
        XCTAssertEqual(held.text, "pthread key 3 of thread 7 → a block → 2 more blocks → this site")
    }
}
