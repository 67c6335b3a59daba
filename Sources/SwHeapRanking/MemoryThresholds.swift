// Every number the memory verdict compares against, in one place (documented in
// docs/REPORT.md, "Memory"): when the live heap grows, when the allocator's free memory is
// retention, when RSS lies outside the heap. MemoryAssessment holds no constant of its own.
//
// Calibrated on the fixtures of Tests/Fixtures/memory.c and on real programs (docs/REPORT.md,
// "Memory"): 4 threads' arenas after a burst keep 80 times their live heap free, while python3
// and GNU sort kept 226-240 KiB free in their glibc heaps and had 2-7 MiB of file-backed RSS.

public struct MemoryThresholds: Hashable, Sendable {
    // MARK: Heap growth

    /// The live heap (the allocator's bytes in use, else the sampled estimate) rose over the
    /// second half of the run by at least this many bytes...
    public var growthMinimumBytes = 8.0 * 1_048_576
    /// ...and by at least this share of its level at the end.
    public var growthMinimumShare = 0.1
    /// Growing suspects explain the growth when their growth rates add up to at least this share
    /// of the heap's.
    public var explainedShare = 0.5
    /// A final dump whose live heap is at most this fraction of the dump before is exit
    /// teardown (destructors freed the heap): the verdict rests on the dump before.
    public var teardownFraction = 0.5

    // MARK: Retention

    /// The allocator holds at least this many free bytes (resident: at most RSS minus in use)...
    public var retentionMinimumBytes = 16.0 * 1_048_576
    /// ...at least this share of RSS...
    public var retentionShareOfRSS = 0.25
    /// ...and at least this multiple of the bytes in use ("much more free than live").
    public var retentionRatioToLive = 1.0
    /// glibc: with at least this many arenas, MALLOC_ARENA_MAX is advised.
    public var arenasForArenaMax: UInt32 = 3
    /// glibc: when the top chunk (keepcost) holds at least this share of the free bytes, a
    /// smaller M_TRIM_THRESHOLD is advised; otherwise the free memory lies between live blocks.
    public var topShareForTrimThreshold = 0.5
    /// The sampled heap stands in for the bytes in use where the allocator keeps no count of
    /// them (mimalloc), raised by this many standard deviations of its sampling noise plus this
    /// many samples' worth, so that the free memory it leaves is a lower bound: a retention
    /// verdict never rests on a lucky sample.
    public var estimateNoiseMultiple = 3.0
    public var estimateMarginSamples = 3.0

    // MARK: Outside the heap

    /// RSS that neither the allocator holds nor the sampled heap explains: at least this many bytes...
    public var notHeapMinimumBytes = 32.0 * 1_048_576
    /// ...and at least this share of RSS.
    public var notHeapShareOfRSS = 0.5

    public init() {}
}
