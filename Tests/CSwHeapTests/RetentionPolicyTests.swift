// The retention policy the shim thins with (sw_retention_keeps, sw_retention_next_kept in
// swheap_format.h) and what the disk budget relies on: the file-count bound at small and large
// settings, an epoch dropped stays dropped (monotone), a smaller `recent` keeps a subset (so
// halving it under the budget only deletes), and next_kept walks exactly the kept epochs.

import CSwHeapFormat
import XCTest

final class RetentionPolicyTests: XCTestCase {
    private func kept(_ newest: UInt64, _ recent: UInt64) -> [UInt64] {
        var out: [UInt64] = []
        var e = sw_retention_next_kept(0, newest, recent)
        while e <= newest {
            out.append(e)
            e = sw_retention_next_kept(e, newest, recent)
        }
        return out
    }

    func testNextKeptWalksExactlyTheKeptEpochs() {
        for recent: UInt64 in [1, 2, 3, 5, 64] {
            for newest: UInt64 in Array(1...300) + [1000, 4097, 10_000] {
                let brute = (1...newest).filter { sw_retention_keeps($0, newest, recent) != 0 }
                XCTAssertEqual(kept(newest, recent), brute, "newest \(newest) recent \(recent)")
            }
        }
    }

    /// Small (recent 2: SWHEAP_KEEP < 48) and large (recent 64: the default SWHEAP_KEEP=1024)
    /// settings: at most 16 * recent + 1 files while the run has at most recent * 2^15 epochs;
    /// checked at every power of two and its neighbours, where the count peaks.
    func testFileCountBound() {
        for recent: UInt64 in [1, 2, 4, 64] {
            let limit = recent << 15
            var newest: UInt64 = 1
            while newest <= limit {
                for n in [newest - 1, newest, newest + 1] where n >= 1 && n <= limit {
                    XCTAssertLessThanOrEqual(kept(n, recent).count, Int(16 * recent + 1), "newest \(n) recent \(recent)")
                }
                newest *= 2
            }
            XCTAssertLessThanOrEqual(kept(limit, recent).count, Int(16 * recent + 1))
        }
        // The default: a month at 10 s (259,200 epochs) keeps at most 1,025 files.
        XCTAssertLessThanOrEqual(kept(259_200, UInt64(SW_DEFAULT_KEEP) / 16).count, 1025)
        XCTAssertGreaterThan(kept(259_200, UInt64(SW_DEFAULT_KEEP) / 16).count, 800) // 831
    }

    /// Monotone: as newest grows one epoch at a time, the kept set only loses epochs older than
    /// the new one; and halving recent at any point keeps a subset of what was kept.
    func testMonotoneAndSmallerRecentKeepsASubset() {
        for recent: UInt64 in [1, 2, 3, 8] {
            var previous = Set<UInt64>()
            for newest: UInt64 in 1...3000 {
                let now = Set(kept(newest, recent))
                XCTAssertTrue(now.subtracting([newest]).isSubset(of: previous), "newest \(newest) recent \(recent)")
                previous = now
                if newest % 97 == 0 {
                    var r = recent
                    while r > 1 {
                        XCTAssertTrue(Set(kept(newest, r / 2)).isSubset(of: Set(kept(newest, r))), "newest \(newest) recent \(r)")
                        r /= 2
                    }
                }
            }
        }
    }

    /// The budget's floor, recent = 1, keeps about 2 log2(newest) epochs: a month's history fits
    /// any budget that holds a few dozen epoch files and the logs they name.
    func testLeastRecentKeepsLogarithmically() {
        XCTAssertLessThanOrEqual(kept(259_200, 1).count, 40)
        XCTAssertLessThanOrEqual(kept(UInt64(UInt32.max), 1).count, 70)
        XCTAssertEqual(kept(259_200, 1).first, 1)
        XCTAssertEqual(kept(259_200, 1).last, 259_200)
    }
}
