// Ranks the allocation sites of one process by evidence that they grow without release.

import SwHeapDump
import SwHeapStore
import SwHeapSymbols

public struct ProcessRanking: Sendable {
    /// Every site with live bytes at some epoch, ranked: suspects first (by score), then the rest.
    public var sites: [SiteVerdict]
    /// Growing sites gathered under a common caller, strongest first (`LeakRoots`).
    public var roots: [LeakRoot] = []
    public var timeline: EpochTimeline
    /// The thresholds the sites were ranked with.
    public var thresholds: RankingThresholds
    /// Thread creation sites (nil when no dump has a thread census: an older shim).
    public var threads: ThreadRanking?

    public var suspects: [SiteVerdict] { sites.filter(\.isSuspect) }
    public var suppressed: [SiteVerdict] { sites.filter { $0.suppressedBy != nil } }
    /// Fewer epochs than a trend needs: verdicts rest on the exit-time scan alone.
    public var isExitOnly: Bool { timeline.count < thresholds.minimumEpochsForTrend }
    /// Total live bytes of the process at its last epoch.
    public var liveBytes: Double { sites.reduce(0) { $0 + $1.liveBytes } }

    /// What a report lists: suspects, then non-suspects holding at least `notableShare` of the heap.
    public func listed() -> [SiteVerdict] {
        sites.filter { $0.isSuspect || ($0.suppressedBy == nil && $0.heapShare >= thresholds.notableShare) }
    }
}

public enum LeakRanker {
    /// Ranks the sites of a loaded process. `names` symbolises stacks (see `SymbolizedSiteNaming`).
    public static func rank(process: ProcessHeap, names: any SiteNaming,
                            suppressions: Suppressions = .builtIn,
                            classifier: ShapeClassifier = ShapeClassifier()) -> [SiteVerdict] {
        ranking(process: process, names: names, suppressions: suppressions, classifier: classifier).sites
    }

    public static func ranking(process: ProcessHeap, names: any SiteNaming,
                               suppressions: Suppressions = .builtIn,
                               classifier: ShapeClassifier = ShapeClassifier()) -> ProcessRanking {
        let frames = Dictionary(process.sites.map { ($0.stackID, $0.frames) }, uniquingKeysWith: { first, _ in first })
        let timeline = EpochTimeline(process: process)
        var result = ranking(timeline: timeline, sites: process.sites.map(SiteHistory.init(site:)),
                             frames: frames, names: names, suppressions: suppressions, classifier: classifier)
        result.threads = ThreadRanker.rank(process: process, timeline: timeline, names: names, thresholds: classifier.thresholds)
        return result
    }

    /// The same from plain histories (tests, synthetic series).
    public static func ranking(timeline: EpochTimeline, sites: [SiteHistory], frames: [UInt32: [UInt64]] = [:],
                               names: any SiteNaming, suppressions: Suppressions = .builtIn,
                               classifier: ShapeClassifier = ShapeClassifier()) -> ProcessRanking {
        // Sites of empty blocks (malloc(0)) hold objects but no bytes.
        let present = sites.filter { $0.liveBytes.contains { $0 > 0 } || $0.liveObjects.contains { $0 > 0 } }
        let groups = SiteGrouping.group(present, names: { names.names(stackID: $0.stackID, frames: frames[$0.stackID] ?? []) },
                                        suppressions: suppressions)
        let assessments = groups.map { classifier.assess($0.history, timeline: timeline) }
        let totalLive = assessments.reduce(0) { $0 + $1.liveBytes }
        let totalGrowth = assessments.filter { $0.verdict == .growing }.reduce(0) { $0 + $1.grownBytes }
        let totalUnreferenced = assessments.reduce(0) { $0 + ($1.unreferencedBytes ?? 0) }

        var verdicts = zip(groups, assessments).map { group, assessment -> SiteVerdict in
            let stacks = group.members.map { member in
                SiteStack(stackID: member.history.stackID, stack: member.stack, liveBytes: member.history.liveBytes(shownIn: timeline),
                          unreferencedBytes: member.history.figuresAtScan(in: timeline)?.unreferencedBytes,
                          heldBy: member.history.heldBy, unreferencedComponents: member.history.unreferencedComponents)
            }.sorted { ($0.liveBytes, $1.stackID) > ($1.liveBytes, $0.stackID) }
            let score = LeakScore.score(
                assessment, growthShare: totalGrowth > 0 ? assessment.grownBytes / totalGrowth : 0,
                unreferencedShareOfProcess: totalUnreferenced > 0 ? (assessment.unreferencedBytes ?? 0) / totalUnreferenced : 0,
                thresholds: classifier.thresholds)
            return SiteVerdict(rank: 0, stackID: group.history.stackID, site: stacks[0].stack.siteName, stack: stacks[0].stack,
                               stacks: stacks, verdict: assessment.verdict, shape: assessment.shape, score: score,
                               assessment: assessment,
                               suppressedBy: group.suppression,
                               heapShare: totalLive > 0 ? assessment.liveBytes / totalLive : 0)
        }
        verdicts.sort(by: ranksBefore)
        for index in verdicts.indices { verdicts[index].rank = index + 1 }
        let live = Dictionary(groups.map { ($0.history.stackID, $0.history.liveBytes) }, uniquingKeysWith: { a, _ in a })
        return ProcessRanking(sites: verdicts, roots: LeakRoots.find(verdicts, liveBytes: live, thresholds: classifier.thresholds),
                              timeline: timeline, thresholds: classifier.thresholds)
    }

    /// Suspects first, by score; the rest by live bytes (what a reader of the table wants to
    /// see next); then the faster grower; then stack id (stable output).
    static func ranksBefore(_ a: SiteVerdict, _ b: SiteVerdict) -> Bool {
        if a.isSuspect != b.isSuspect { return a.isSuspect }
        if !a.isSuspect && a.liveBytes != b.liveBytes { return a.liveBytes > b.liveBytes }
        if a.score != b.score { return a.score > b.score }
        if a.growthBytesPerSecond != b.growthBytesPerSecond { return a.growthBytesPerSecond > b.growthBytesPerSecond }
        if a.liveBytes != b.liveBytes { return a.liveBytes > b.liveBytes }
        return a.stackID < b.stackID
    }
}
