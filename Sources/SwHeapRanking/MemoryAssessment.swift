// What a process's RSS is made of, over its run, from the MEMORY records of its dumps: a live
// heap that grows, memory its allocator keeps although nothing uses it, or memory outside the
// heap. The most common false leak report is the second (glibc's per-thread arenas), so it gets
// a verdict and advice of its own; a heap that really grows always wins over it, so a leak is
// never called retention. Thresholds: MemoryThresholds; wording: SwHeapOutput's MemoryText.

import SwHeapDump
import SwHeapStore

/// The verdict on a process's memory. Raw values are part of the JSON schema (docs/REPORT.md).
public enum MemoryVerdict: String, Hashable, Sendable, CaseIterable, Codable {
    /// The allocator holds much more free memory than is live: RSS stays high with no leak.
    case retention
    /// The live heap grows (and the growing suspects say where, when they explain it).
    case heapGrowth = "heap-growth"
    /// RSS is not explained by the allocator or the sampled heap: thread stacks, file
    /// mappings, memory mapped directly, JIT code.
    case notHeap = "not-heap"
    /// RSS is the live heap, and nothing above grows.
    case stable
}

/// Where the live heap figure a memory verdict rests on comes from.
public enum LiveHeapSource: String, Hashable, Sendable, Codable {
    /// The allocator's own count of bytes in use.
    case allocator
    /// The sampled estimate (the allocator keeps no count, or was not asked).
    case sampled
}

/// One piece of advice, with the figures it rests on; SwHeapOutput words it.
public enum MemoryAdvice: Hashable, Sendable {
    /// glibc: threads allocate from `arenas` arenas, each keeping its own free memory.
    case arenaMax(arenas: UInt32)
    /// glibc: free memory between live blocks, in `freeChunks` free chunks: malloc_trim(0).
    case mallocTrim(freeChunks: UInt64?)
    /// glibc: the top of the heap holds `topBytes`: a smaller M_TRIM_THRESHOLD.
    case trimThreshold(topBytes: Double)
    /// An allocator that returns free memory over time.
    case otherAllocator
    /// jemalloc: dirty pages wait for their decay: dirty_decay_ms, background_thread.
    case jemallocDecay
    /// tcmalloc: free spans return at TCMALLOC_RELEASE_RATE, or ReleaseFreeMemory().
    case tcmallocRelease
    /// mimalloc: freed pages wait for their purge delay, or mi_collect(true).
    case mimallocPurge
    /// The growing suspects explain `explained` of the heap's growth: these sites.
    case fixSuspects(sites: [String], explained: Double)
    /// The heap grows but the suspects explain only `explained` of it.
    case unexplainedGrowth(explained: Double)
    /// Resident file-backed and shared memory: code, mapped files.
    case fileBacked(bytes: Double)
    /// Anonymous memory the allocator does not hold: stacks, direct mmap, JIT, another allocator.
    case anonymousOutsideHeap(bytes: Double)
    /// Besides the verdict, the allocator keeps this much free.
    case alsoRetention(bytes: Double)
    /// No allocator figures, and why.
    case noAllocatorFigures(allocator: AllocatorKind, why: MissingAllocatorFigures)
}

/// One dump's memory picture on the process's timeline.
public struct MemorySample: Hashable, Sendable {
    public var epoch: UInt64
    public var elapsedSeconds: Double
    public var picture: MemoryPicture

    public init(epoch: UInt64, elapsedSeconds: Double, picture: MemoryPicture) {
        self.epoch = epoch; self.elapsedSeconds = elapsedSeconds; self.picture = picture
    }
}

public struct MemoryAssessment: Hashable, Sendable {
    public var verdict: MemoryVerdict
    public var advice: [MemoryAdvice]
    public var allocator: AllocatorKind
    /// The dump the figures below come from: the last one with the allocator's figures (the
    /// one before when the final dump is exit teardown).
    public var reference: MemorySample
    /// The live heap at `reference`, and where that figure comes from.
    public var liveHeapBytes: Double
    public var liveHeapSource: LiveHeapSource
    /// Free memory the allocator keeps, resident (at most RSS minus the bytes in use); nil
    /// without its figures.
    public var retainedBytes: Double?
    /// `retainedBytes` rests on the sampled heap standing in for the bytes in use (mimalloc).
    public var retainedEstimated: Bool
    /// RSS outside what the allocator holds (with its figures), or the file-backed part of RSS
    /// (without them: the rest may be the allocator's); nil without RSS.
    public var outsideHeapBytes: Double?
    /// The live heap's rise over the second half of the run, and its pace; nil with fewer
    /// than 3 pictures.
    public var heapGrowthBytes: Double?
    public var heapGrowthBytesPerSecond: Double?
    /// The share of that pace the growing suspects' pace accounts for (at most 1).
    public var explainedBySuspects: Double?
    /// Every dump's picture, in epoch order.
    public var timeline: [MemorySample]
    public var thresholds: MemoryThresholds

    /// The dump's figures, or nil when no dump of the process has a MEMORY record (an older shim).
    public static func assess(process: ProcessHeap, ranking: ProcessRanking? = nil,
                              thresholds: MemoryThresholds = MemoryThresholds()) -> MemoryAssessment? {
        let samples = zip(process.epochs, process.memory).compactMap { header, picture in
            picture.map { MemorySample(epoch: header.epoch, elapsedSeconds: header.elapsedSeconds, picture: $0) }
        }
        let growing = ranking?.suspects.filter { $0.verdict == .growing } ?? []
        return assess(samples, rate: Double(process.rate), endsWithFinalDump: process.isFinal,
                      growingSites: growing.map { ($0.site, $0.growthBytesPerSecond) }, thresholds: thresholds)
    }

    /// The same from plain samples (tests): `growingSites` are the growing suspects, strongest
    /// first, with their growth in bytes per second.
    public static func assess(_ samples: [MemorySample], rate: Double, endsWithFinalDump: Bool,
                              growingSites: [(String, Double)] = [],
                              thresholds t: MemoryThresholds = MemoryThresholds()) -> MemoryAssessment? {
        guard !samples.isEmpty else { return nil }
        // The series of the live heap: the allocator's count where the reference has it.
        var referenceIndex = samples.lastIndex { $0.picture.hasAllocatorFigures } ?? samples.count - 1
        let source: LiveHeapSource = samples[referenceIndex].picture.inUseBytes != nil ? .allocator : .sampled
        func heap(_ s: MemorySample) -> Double? {
            source == .allocator ? s.picture.inUseBytes.map { Double($0) } : s.picture.sampledLiveBytes
        }
        var series = samples.indices.filter { heap(samples[$0]) != nil && $0 <= referenceIndex }
        if endsWithFinalDump, referenceIndex == samples.count - 1, series.count >= 2, let end = heap(samples[series[series.count - 1]]), let before = heap(samples[series[series.count - 2]]),
           end <= t.teardownFraction * before {
            series.removeLast()
            referenceIndex = series.last!
        }
        let reference = samples[referenceIndex]
        let picture = reference.picture
        let live = heap(reference) ?? picture.sampledLiveBytes

        // Growth over the second half: the reference against the picture nearest the middle.
        var growth: Double?, pace: Double?, explained: Double?
        if series.count >= 3 {
            let first = samples[series[0]].elapsedSeconds, middle = (first + reference.elapsedSeconds) / 2
            let mid = series.dropLast().min { abs(samples[$0].elapsedSeconds - middle) < abs(samples[$1].elapsedSeconds - middle) }!
            let seconds = reference.elapsedSeconds - samples[mid].elapsedSeconds
            if seconds > 0, let then = heap(samples[mid]) {
                growth = live - then
                pace = (live - then) / seconds
                let suspects = growingSites.reduce(0) { $0 + max(0, $1.1) }
                if pace! > 0 { explained = min(1, suspects / pace!) }
            }
        }
        let isGrowing = growth.map { $0 >= max(t.growthMinimumBytes, t.growthMinimumShare * live) } ?? false

        // Retention: what the allocator keeps free, as far as it can be resident.
        let rss = picture.rssBytes.map { Double($0) }
        var inUse = picture.inUseBytes.map { Double($0) }
        var estimated = false
        if inUse == nil, picture.heldBytes != nil {
            // Samples of objects much smaller than the rate count like a Poisson variable: an
            // upper bound of the live heap from N samples is about N + 3 sqrt(N) + 3 of them.
            let samples = rate > 1 ? picture.sampledLiveBytes / rate : 0
            let margin = rate > 1 ? (t.estimateNoiseMultiple * samples.squareRoot() + t.estimateMarginSamples) * rate : 0
            inUse = picture.sampledLiveBytes + margin
            estimated = true
        }
        var retained: Double?
        if let inUse {
            let free = picture.freeBytes.map { Double($0) } ?? picture.heldBytes.map { max(0, Double($0) - inUse) }
            let resident = (picture.anonBytes ?? picture.rssBytes).map { max(0, Double($0) - inUse) }
            retained = free.map { free in resident.map { min(free, $0) } ?? free }
        }
        let isRetention = retained.map { retained in
            retained >= t.retentionMinimumBytes && retained >= t.retentionShareOfRSS * (rss ?? 0)
                && retained >= t.retentionRatioToLive * (inUse ?? 0)
        } ?? false

        // Outside the heap: RSS beyond what the allocator holds; without its figures only the
        // file-backed part is surely outside (the rest may be the allocator's free memory).
        var outside: Double?
        if let rss {
            if let held = picture.heldBytes { outside = max(0, rss - Double(held)) }
            else if !picture.hasAllocatorFigures, let file = picture.fileBytes { outside = Double(file) }
        }
        let isOutside = outside.map { $0 >= max(t.notHeapMinimumBytes, t.notHeapShareOfRSS * (rss ?? 0)) } ?? false

        let verdict: MemoryVerdict
        var advice: [MemoryAdvice] = []
        if isGrowing {
            verdict = .heapGrowth
            let share = explained ?? 0
            advice.append(share >= t.explainedShare ? .fixSuspects(sites: growingSites.prefix(3).map(\.0), explained: share)
                                                    : .unexplainedGrowth(explained: share))
            if isRetention, let retained { advice.append(.alsoRetention(bytes: retained)) }
        } else if isRetention, let retained, !isOutside || retained >= (outside ?? 0) {
            verdict = .retention
            advice += retentionAdvice(picture, retained: retained, thresholds: t)
        } else if isOutside, let outside {
            verdict = .notHeap
            let file = Double(picture.fileBytes ?? 0)
            let anonymous = picture.hasAllocatorFigures ? max(0, outside - file) : 0
            var parts: [MemoryAdvice] = []
            if file >= 0.1 * outside { parts.append(.fileBacked(bytes: min(file, outside))) }
            if anonymous >= 0.1 * outside { parts.append(.anonymousOutsideHeap(bytes: anonymous)) }
            advice += anonymous > file ? parts.reversed() : parts
        } else {
            verdict = .stable
        }
        if let why = picture.missingFigures {
            advice.append(.noAllocatorFigures(allocator: picture.allocator, why: why))
        }
        return MemoryAssessment(verdict: verdict, advice: advice, allocator: picture.allocator, reference: reference,
                                liveHeapBytes: live, liveHeapSource: source, retainedBytes: retained,
                                retainedEstimated: estimated && retained != nil, outsideHeapBytes: outside,
                                heapGrowthBytes: growth, heapGrowthBytesPerSecond: pace, explainedBySuspects: explained,
                                timeline: samples, thresholds: t)
    }

    static func retentionAdvice(_ picture: MemoryPicture, retained: Double, thresholds t: MemoryThresholds) -> [MemoryAdvice] {
        switch picture.allocator {
        case .glibc:
            // What returns the most first: the top chunk by the trim threshold, free memory
            // between live blocks only by malloc_trim(0); fewer arenas keep less in the long run.
            var advice: [MemoryAdvice] = []
            let top = Double(picture.figure("keepcost") ?? 0)
            if top >= t.topShareForTrimThreshold * retained { advice.append(.trimThreshold(topBytes: top)) }
            advice.append(.mallocTrim(freeChunks: picture.figure("ordblks")))
            if let arenas = picture.arenas, arenas >= t.arenasForArenaMax { advice.append(.arenaMax(arenas: arenas)) }
            advice.append(.otherAllocator)
            return advice
        case .jemalloc: return [.jemallocDecay]
        case .tcmalloc: return [.tcmallocRelease]
        case .mimalloc: return [.mimallocPurge]
        case .unknown: return []
        }
    }
}
