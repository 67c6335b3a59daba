// The memory verdict on made-up pictures: retention is not a leak, a leak is never retention,
// exit teardown is not retention, RSS outside the allocator is not-heap, an allocator without
// statistics gets no made-up figures, and each verdict gets the advice that fits.

import XCTest
@testable import SwHeapDump
@testable import SwHeapRanking

final class MemoryAssessmentTests: XCTestCase {
    let mib = 1_048_576.0

    func picture(_ allocator: AllocatorKind = .glibc, rss: Double, file: Double = 2, inUse: Double?, free: Double?,
                 held: Double? = nil, arenas: UInt32? = 5, sampled: Double? = nil, keepcost: Double = 0.1,
                 skipped: Bool = false) -> MemoryPicture {
        func bytes(_ v: Double?) -> UInt64? { v.map { UInt64($0 * mib) } }
        let figures = allocator == .glibc && inUse != nil
            ? [AllocatorFigure(name: "keepcost", value: UInt64(keepcost * mib)), AllocatorFigure(name: "ordblks", value: 513)] : []
        return MemoryPicture(allocator: allocator, rssBytes: bytes(rss), fileBytes: bytes(file),
                             anonBytes: bytes(rss - file), inUseBytes: bytes(inUse), freeBytes: bytes(free),
                             heldBytes: bytes(held ?? inUse.flatMap { i in free.map { i + $0 } }),
                             arenas: inUse == nil ? nil : arenas, allocatorSkipped: skipped,
                             sampledLiveBytes: (sampled ?? inUse ?? 0) * mib, figures: figures)
    }

    func samples(_ pictures: [MemoryPicture], seconds: Double = 10) -> [MemorySample] {
        pictures.enumerated().map { MemorySample(epoch: UInt64($0 + 1), elapsedSeconds: Double($0 + 1) * seconds, picture: $1) }
    }

    func assess(_ pictures: [MemoryPicture], final: Bool = false, rate: Double = 524_288,
                growing: [(String, Double)] = []) throws -> MemoryAssessment {
        try XCTUnwrap(MemoryAssessment.assess(samples(pictures), rate: rate, endsWithFinalDump: final, growingSites: growing))
    }

    /// Issue 20's picture: 4 threads' arenas keep 130 MiB free for 0.5 MiB in use.
    func testArenasKeepingFreedMemoryAreRetentionWithArenaAdvice() throws {
        let building = picture(rss: 90, inUse: 70, free: 30)
        let kept = picture(rss: 134, inUse: 1.6, free: 129)
        let m = try assess([building] + Array(repeating: kept, count: 8))
        XCTAssertEqual(m.verdict, .retention)
        XCTAssertEqual(m.retainedBytes ?? 0, 129 * mib, accuracy: mib)
        XCTAssertEqual(m.liveHeapSource, .allocator)
        XCTAssertEqual(m.advice.first, .mallocTrim(freeChunks: 513), "free between live blocks: malloc_trim returns it")
        XCTAssertTrue(m.advice.contains(.arenaMax(arenas: 5)))
        XCTAssertTrue(m.advice.contains(.otherAllocator))
        XCTAssertFalse(m.advice.contains { if case .trimThreshold = $0 { return true } else { return false } })
        XCTAssertEqual(m.heapGrowthBytes, 0, "flat over the second half")
    }

    func testTheTopOfTheHeapGetsTheTrimThresholdAndOneArenaNoArenaAdvice() throws {
        let m = try assess(Array(repeating: picture(rss: 80, inUse: 10, free: 64, arenas: 1, keepcost: 60), count: 4))
        XCTAssertEqual(m.verdict, .retention)
        XCTAssertEqual(m.advice.first, .trimThreshold(topBytes: 60 * mib))
        XCTAssertFalse(m.advice.contains { if case .arenaMax = $0 { return true } else { return false } })
    }

    /// A live heap that grows is heap-growth even when the allocator also keeps a lot free.
    func testALeakIsNeverRetention() throws {
        let pictures = (0..<10).map { i in picture(rss: 250 + 10 * Double(i), inUse: 20 + 10 * Double(i), free: 200) }
        let m = try assess(pictures, growing: [("leaky_insert", 1.05 * mib)])
        XCTAssertEqual(m.verdict, .heapGrowth)
        XCTAssertEqual(m.heapGrowthBytesPerSecond ?? 0, 1 * mib, accuracy: 0.01 * mib)
        XCTAssertEqual(m.explainedBySuspects, 1)
        XCTAssertEqual(m.advice.first, .fixSuspects(sites: ["leaky_insert"], explained: 1))
        XCTAssertTrue(m.advice.contains(.alsoRetention(bytes: 200 * mib)))
    }

    func testGrowthTheSuspectsDoNotExplainSaysSo() throws {
        let pictures = (0..<6).map { i in picture(rss: 40 + 10 * Double(i), inUse: 30 + 10 * Double(i), free: 5) }
        let m = try assess(pictures, growing: [("small", 0.1 * mib)])
        XCTAssertEqual(m.verdict, .heapGrowth)
        XCTAssertEqual(m.explainedBySuspects ?? 0, 0.1, accuracy: 0.01)
        XCTAssertEqual(m.advice, [.unexplainedGrowth(explained: m.explainedBySuspects!)])
    }

    /// Start-up fills the heap, then it stays: no growth over the second half.
    func testAStartUpPlateauIsNotGrowth() throws {
        let pictures = [picture(rss: 5, inUse: 1, free: 1)] + Array(repeating: picture(rss: 110, inUse: 100, free: 8), count: 9)
        let m = try assess(pictures)
        XCTAssertEqual(m.verdict, .stable)
        XCTAssertEqual(m.heapGrowthBytes, 0)
        XCTAssertEqual(m.advice, [])
    }

    /// Destructors free the heap at exit: the final dump's free memory is not retention.
    func testExitTeardownIsNotRetention() throws {
        let running = Array(repeating: picture(rss: 110, inUse: 100, free: 5), count: 5)
        let m = try assess(running + [picture(rss: 110, inUse: 1, free: 104)], final: true)
        XCTAssertEqual(m.verdict, .stable)
        XCTAssertEqual(m.reference.epoch, 5, "the dump before the teardown")
        let notFinal = try assess(running + [picture(rss: 110, inUse: 1, free: 104)], final: false)
        XCTAssertEqual(notFinal.verdict, .retention, "a running process that freed its heap keeps it")
    }

    func testMemoryOutsideTheAllocatorIsNotHeap() throws {
        let m = try assess(Array(repeating: picture(rss: 134, file: 3, inUse: 1, free: 2), count: 4))
        XCTAssertEqual(m.verdict, .notHeap)
        XCTAssertEqual(m.outsideHeapBytes ?? 0, 131 * mib, accuracy: 0.01 * mib)
        XCTAssertEqual(m.advice, [.anonymousOutsideHeap(bytes: 128 * mib)])
        let files = try assess([picture(rss: 134, file: 120, inUse: 1, free: 2)])
        XCTAssertEqual(files.verdict, .notHeap)
        XCTAssertEqual(files.advice.first, .fileBacked(bytes: 120 * mib))
    }

    /// Whichever explains more RSS wins between retention and not-heap.
    func testTheLargerOfRetentionAndOutsideWins() throws {
        let m = try assess([picture(rss: 300, inUse: 10, free: 60)])
        XCTAssertEqual(m.verdict, .notHeap)
        let n = try assess([picture(rss: 300, inUse: 10, free: 200)])
        XCTAssertEqual(n.verdict, .retention)
    }

    func testAHeapThatIsRSSIsStable() throws {
        let m = try assess(Array(repeating: picture(rss: 50, inUse: 40, free: 6), count: 6))
        XCTAssertEqual(m.verdict, .stable)
        XCTAssertEqual(m.advice, [])
    }

    /// No statistics: no allocator figure is made up, retention is never claimed, and the
    /// anonymous rest of RSS is not called outside the heap (it may be the allocator's).
    func testAnUnknownAllocatorGetsNoMadeUpFigures() throws {
        let p = picture(.unknown, rss: 200, file: 3, inUse: nil, free: nil, sampled: 10)
        let m = try assess(Array(repeating: p, count: 5))
        XCTAssertEqual(m.verdict, .stable)
        XCTAssertNil(m.retainedBytes)
        XCTAssertEqual(m.outsideHeapBytes, 3 * mib)
        XCTAssertEqual(m.liveHeapSource, .sampled)
        XCTAssertEqual(m.advice, [.noAllocatorFigures(allocator: .unknown, why: .noStatistics)])
    }

    /// The exit dump of _exit does not ask the allocator: the figures come from the dump before.
    func testASkippedExitDumpLeavesTheFiguresToTheDumpBefore() throws {
        let kept = picture(rss: 134, inUse: 1.6, free: 129)
        let skipped = picture(rss: 134, inUse: nil, free: nil, sampled: 1, skipped: true)
        let m = try assess([kept, kept, skipped], final: true)
        XCTAssertEqual(m.reference.epoch, 2)
        XCTAssertEqual(m.verdict, .retention)
        let only = try assess([skipped], final: true)
        XCTAssertEqual(only.advice.last, .noAllocatorFigures(allocator: .glibc, why: .notAsked))
    }

    /// mimalloc counts no bytes in use: the sampled heap stands in, raised by its noise, so the
    /// free memory left is a lower bound (the real run: commit 288 MiB, no sample left).
    func testMimallocRetentionRestsOnTheSampledHeapsUpperBound() throws {
        let p = picture(.mimalloc, rss: 135, inUse: nil, free: nil, held: 288, sampled: 0)
        let m = try assess(Array(repeating: p, count: 4))
        XCTAssertEqual(m.verdict, .retention)
        XCTAssertTrue(m.retainedEstimated)
        XCTAssertEqual(m.liveHeapBytes, 0)
        // resident anonymous 133 MiB less the bound 3 samples' worth (1.5 MiB)
        XCTAssertEqual(m.retainedBytes ?? 0, 131.5 * mib, accuracy: 0.01 * mib)
        XCTAssertEqual(m.advice, [.mimallocPurge])
        // 40 MiB sampled (80 samples) may be 55 MiB: 45 MiB free is then not more than is live.
        let noisy = try assess(Array(repeating: picture(.mimalloc, rss: 105, inUse: nil, free: nil, held: 100, sampled: 40), count: 4))
        XCTAssertEqual(noisy.verdict, .stable)
        XCTAssertEqual(noisy.retainedBytes ?? 0, 45.1 * mib, accuracy: 0.1 * mib)
    }

    func testJemallocAndTcmallocGetTheirOwnAdvice() throws {
        let je = try assess([picture(.jemalloc, rss: 100, inUse: 5, free: 90, arenas: 8)])
        XCTAssertEqual(je.verdict, .retention)
        XCTAssertEqual(je.advice, [.jemallocDecay])
        let tc = try assess([picture(.tcmalloc, rss: 100, inUse: 5, free: 90, arenas: nil)])
        XCTAssertEqual(tc.advice, [.tcmallocRelease])
    }

    func testNoPicturesNoAssessment() {
        XCTAssertNil(MemoryAssessment.assess([], rate: 1, endsWithFinalDump: true))
    }
}
