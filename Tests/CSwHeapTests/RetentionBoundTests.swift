// The bound on SWHEAP_KEEP stated in README.md and docs/FORMAT.md ("Retention"): with
// recent = max(2, N / 16), a run of at most recent * 2^j epochs (any j >= 0) leaves at most
// recent * (j + 1) + 1 epoch files on disk, reached at recent * 2^j for j >= 2. So up to
// recent * 2^15 epochs at most 16 * recent + 1 files: N + 1 or fewer for N >= 32, 33 for N < 32.

import CSwHeapFormat
import XCTest

final class RetentionBoundTests: XCTestCase {
    /// `recent` for SWHEAP_KEEP=N, as the shim derives it (retention.c, docs/FORMAT.md).
    private func recent(keep: UInt64) -> UInt64 { max(2, keep / 16) }

    /// recent * (j + 1) + 1 for the smallest j >= 0 with epochs <= recent * 2^j.
    private func bound(recent r: UInt64, epochs: UInt64) -> UInt64 {
        var j: UInt64 = 0
        while r << j < epochs { j += 1 }
        return r * (j + 1) + 1
    }

    /// The files on disk after each dump of a run of `epochs` epochs, as the shim keeps them:
    /// after dump n, every file the policy no longer keeps at newest n is deleted. Calls
    /// `each(n, files on disk)` for n = 1...epochs.
    private func simulate(recent r: UInt64, epochs: UInt64, _ each: (UInt64, UInt64) -> Void) {
        var onDisk: [UInt64] = []
        onDisk.reserveCapacity(Int(bound(recent: r, epochs: epochs)) + 1)
        for newest in 1...epochs {
            onDisk.removeAll { sw_retention_keeps($0, newest, r) == 0 }
            onDisk.append(newest)
            each(newest, UInt64(onDisk.count))
        }
    }

    /// Epochs 1...newest that the policy keeps, counted directly.
    private func kept(recent r: UInt64, newest: UInt64) -> UInt64 {
        var count: UInt64 = 0
        for epoch in 1...newest where sw_retention_keeps(epoch, newest, r) != 0 { count += 1 }
        return count
    }

    /// N = 1...64 (recent 2, 3 and 4), every run length up to recent * 2^15 epochs.
    func testSmallKeepStaysWithinTheStatedBoundAtEveryRunLength() {
        var most: [UInt64: UInt64] = [:] // recent -> most files on disk over the whole run
        for r in Set((1...64).map { recent(keep: $0) }).sorted() {
            var broken: [String] = []
            var peak: UInt64 = 0
            simulate(recent: r, epochs: r << 15) { newest, files in
                peak = max(peak, files)
                if files > bound(recent: r, epochs: newest), broken.count < 5 {
                    broken.append("\(files) files after epoch \(newest)")
                }
            }
            XCTAssertEqual(broken, [], "recent \(r): more than recent * (j + 1) + 1 files")
            XCTAssertEqual(peak, 16 * r + 1, "recent \(r): the most files up to recent * 2^15 epochs")
            most[r] = peak
        }
        for keep in UInt64(1)...64 {
            let files = most[recent(keep: keep)]!
            XCTAssertLessThanOrEqual(files, keep >= 32 ? keep + 1 : 33, "SWHEAP_KEEP=\(keep)")
        }
        XCTAssertEqual(most[recent(keep: 4)], 33, "SWHEAP_KEEP=4 keeps up to 33 files, not 1")
    }

    /// The bound is reached at recent * 2^j: the figure the docs give is the worst case.
    func testTheBoundIsReachedAtRecentTimesAPowerOfTwo() {
        for r: UInt64 in [2, 3, 4] {
            for j: UInt64 in 2...15 {
                XCTAssertEqual(kept(recent: r, newest: r << j), r * (j + 1) + 1, "recent \(r), 2^\(j)")
            }
        }
    }

    /// Large N, where replaying a run epoch by epoch takes too long: the count at the worst run
    /// lengths, recent * 2^j, and beside the longest, directly.
    func testLargeKeepAtTheWorstRunLengths() {
        for (keep, top): (UInt64, UInt64) in [(1024, 12), (4096, 9), (100_000, 5)] {
            let r = recent(keep: keep)
            for j in 2...top {
                XCTAssertEqual(kept(recent: r, newest: r << j), r * (j + 1) + 1, "SWHEAP_KEEP=\(keep), \(r << j) epochs")
            }
            XCTAssertLessThanOrEqual(kept(recent: r, newest: (r << top) - 1), r * (top + 1) + 1, "SWHEAP_KEEP=\(keep)")
            XCTAssertLessThanOrEqual(kept(recent: r, newest: (r << top) + 1), r * (top + 2) + 1, "SWHEAP_KEEP=\(keep)")
            XCTAssertLessThanOrEqual(16 * r + 1, keep + 1, "SWHEAP_KEEP=\(keep): 16 * recent + 1 files at most")
        }
    }

    /// Runs of up to 2 * recent epochs keep every file; a longer run keeps the 2 * recent newest.
    func testTheNewestTwiceRecentAreAlwaysKept() {
        for r: UInt64 in [2, 3, 64] {
            var dropped: [String] = []
            for newest in UInt64(1)...(40 * r) {
                for epoch in (newest - min(newest, 2 * r) + 1)...newest
                where sw_retention_keeps(epoch, newest, r) == 0 && dropped.count < 5 {
                    dropped.append("epoch \(epoch) of \(newest)")
                }
            }
            XCTAssertEqual(dropped, [], "recent \(r)")
        }
    }
}
