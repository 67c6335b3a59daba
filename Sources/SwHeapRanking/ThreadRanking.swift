// Verdicts on thread creation sites: which sites' threads pile up (the native form of a
// goroutine leak). Counts are exact (every creation is recorded), so there is no sampling
// noise; the trend rules are the heap's (`LiveTrend` with `RankingThresholds`), applied to the
// threads a site holds (running + exited-unjoined) at each dump: a rise must be significant,
// steady and still going at the end, over at least `minimumEpochsForGrowth` epochs. A pool
// that fills and stays does not rise at the end: a plateau, not growth.

import SwHeapDump
import SwHeapStore
import SwHeapSymbols

/// What the ranker concludes about a thread creation site. Raw values are part of the JSON
/// schema (docs/REPORT.md).
public enum ThreadVerdict: String, Hashable, Sendable, CaseIterable, Codable {
    /// The threads it holds keep rising: threads that never end, or are never joined.
    case growing
    /// Holds exited threads that were never joined (their stacks stay mapped), not rising.
    case neverJoined = "never-joined"
    /// Rose, then flat: a pool that filled and stays.
    case plateau
    /// Repeatedly filled and emptied (batches of threads).
    case sawtooth
    /// Flat, or nothing held.
    case stable
    /// Rising, but over too few epochs to tell from a pool still filling.
    case tooFewEpochs = "too-few-epochs"

    public var isSuspect: Bool { self == .growing || self == .neverJoined }
}

/// One creation site's threads and verdict.
public struct ThreadSiteVerdict: Sendable {
    /// The creation stack shown (the one holding most threads); 0 for the pseudo-site of threads the census only counted (before
    /// profiling, or made by raw clone), and for creations whose stack was unknown.
    public var stackID: UInt32
    /// Every creation stack of the site (a site is a function and line, as for heap sites).
    public var stackIDs: [UInt32]
    /// Named like a heap site: the function that called pthread_create.
    public var site: String
    public var stack: StackNames
    /// At the last dump with a census.
    public var running: UInt64
    public var exitedUnjoined: UInt64
    public var gone: UInt64
    public var stackBytes: UInt64
    /// The part of `stackBytes` the exited-unjoined threads hold.
    public var unjoinedBytes: UInt64
    /// Threads held (running + exited-unjoined) per epoch of the timeline; nil where a dump has no census.
    public var held: [Double?]
    public var verdict: ThreadVerdict
    /// Held threads per second over the rise (0 unless growing or too-few-epochs).
    public var growthPerSecond: Double
    public var reason: String
    /// True for the "(before profiling)" pseudo-site.
    public var isUntracked: Bool
}

/// The threads of one process: totals at the last census, per-epoch figures, sites ranked.
public struct ThreadRanking: Sendable {
    public struct EpochFigures: Hashable, Sendable {
        public var epoch: UInt64
        public var running: UInt64
        public var exitedUnjoined: UInt64
        public var stackBytes: UInt64
        public var untracked: UInt32
    }

    /// Running threads: those of the sites plus the untracked ones (main, before profiling).
    public var running: UInt64
    public var exitedUnjoined: UInt64
    public var stackBytes: UInt64
    public var gone: UInt64
    public var beforeProfiling: UInt32
    public var untracked: UInt32
    public var isTruncated: Bool
    /// Growing first, then never-joined, then by threads held.
    public var sites: [ThreadSiteVerdict]
    /// One per dump with a census.
    public var timeline: [EpochFigures]

    public var suspects: [ThreadSiteVerdict] { sites.filter { $0.verdict.isSuspect } }
}

public enum ThreadRanker {
    public static let untrackedSite = "(before profiling)"

    /// Nil when no dump of the process has a census (written before the shim counted threads).
    public static func rank(process: ProcessHeap, timeline: EpochTimeline, names: any SiteNaming,
                            thresholds: RankingThresholds = RankingThresholds()) -> ThreadRanking? {
        let censuses = process.threads.count == process.epochs.count ? process.threads : []
        guard let lastIndex = censuses.lastIndex(where: { $0 != nil }), let last = censuses[lastIndex] else { return nil }
        let frames = Dictionary(process.sites.map { ($0.stackID, $0.frames) }, uniquingKeysWith: { first, _ in first })
        let indices = censuses.indices.filter { censuses[$0] != nil }
        let times = indices.map { timeline.elapsedSeconds[$0] }
        let endsWithFinal = timeline.endsWithFinalDump && indices.last == timeline.count - 1

        var stackIDs: [UInt32] = [], seen = Set<UInt32>()
        for census in censuses.compactMap({ $0 }) {
            for site in census.sites where seen.insert(site.stackID).inserted { stackIDs.append(site.stackID) }
        }
        // Stacks are gathered per site (function and line of the first user frame), as heap
        // sites are: a loop the compiler unrolled is one site, not one per copy of the call.
        var groups: [(stack: StackNames, ids: [UInt32])] = [], groupOf: [String: Int] = [:]
        for id in stackIDs {
            let stack = id == 0 ? StackNames(frames: [FrameName(function: "(unknown stack)")])
                : names.names(stackID: id, frames: frames[id] ?? [])
            let key = id == 0 ? "\u{0}" : stack.siteName + "\u{0}" + (stack.siteLocation ?? "")
            if let index = groupOf[key] { groups[index].ids.append(id) } else {
                groupOf[key] = groups.count
                groups.append((stack, [id]))
            }
        }
        func sum(_ counts: [ThreadSiteCount], stackID: UInt32) -> ThreadSiteCount {
            counts.reduce(ThreadSiteCount(stackID: stackID, running: 0, exitedUnjoined: 0, gone: 0, stackBytes: 0)) { total, c in
                ThreadSiteCount(stackID: stackID, running: total.running + c.running, exitedUnjoined: total.exitedUnjoined + c.exitedUnjoined,
                                gone: total.gone + c.gone, stackBytes: total.stackBytes + c.stackBytes,
                                unjoinedBytes: total.unjoinedBytes + c.unjoinedBytes)
            }
        }
        // Threads held per group and epoch, in one pass over the censuses.
        var groupOfStack: [UInt32: Int] = [:]
        for (index, group) in groups.enumerated() { for id in group.ids { groupOfStack[id] = index } }
        var heldByGroup = [[Double?]](repeating: censuses.map { $0 == nil ? nil : 0 }, count: groups.count)
        for (epoch, census) in censuses.enumerated() {
            for site in census?.sites ?? [] {
                heldByGroup[groupOfStack[site.stackID]!][epoch]! += Double(site.running + site.exitedUnjoined)
            }
        }
        var sites = groups.enumerated().map { index, group -> ThreadSiteVerdict in
            let ids = Set(group.ids)
            let held = heldByGroup[index]
            let members = last.sites.filter { ids.contains($0.stackID) }
            // The stack shown: the one holding most threads now (the first seen on a tie).
            let shown = group.ids.max { a, b in
                let heldA = members.first { $0.stackID == a }.map { $0.running + $0.exitedUnjoined } ?? 0
                let heldB = members.first { $0.stackID == b }.map { $0.running + $0.exitedUnjoined } ?? 0
                return heldA != heldB ? heldA < heldB : group.ids.firstIndex(of: a)! > group.ids.firstIndex(of: b)!
            } ?? group.ids[0]
            let stack = shown == group.ids[0] ? group.stack : names.names(stackID: shown, frames: frames[shown] ?? [])
            let now = sum(members, stackID: shown)
            var verdict = ThreadSiteVerdict(stackID: shown, stackIDs: group.ids, site: stack.siteName, stack: stack,
                                            running: now.running, exitedUnjoined: now.exitedUnjoined, gone: now.gone,
                                            stackBytes: now.stackBytes, unjoinedBytes: now.unjoinedBytes, held: held,
                                            verdict: .stable, growthPerSecond: 0, reason: "", isUntracked: false)
            judge(&verdict, series: indices.map { held[$0] ?? 0 }, times: times, endsWithFinal: endsWithFinal,
                  thresholds: thresholds)
            return verdict
        }
        // Threads only counted: the main thread, those started before the shim, raw clones.
        if last.untracked > 0 || censuses.contains(where: { ($0?.untracked ?? 0) > 0 }) {
            let held = censuses.map { $0.map { Double($0.untracked) } }
            var verdict = ThreadSiteVerdict(stackID: 0, stackIDs: [], site: untrackedSite, stack: StackNames(frames: []),
                                            running: UInt64(last.untracked), exitedUnjoined: 0, gone: 0, stackBytes: 0,
                                            unjoinedBytes: 0, held: held, verdict: .stable, growthPerSecond: 0, reason: "", isUntracked: true)
            judge(&verdict, series: indices.map { held[$0] ?? 0 }, times: times, endsWithFinal: endsWithFinal,
                  thresholds: thresholds)
            verdict.reason += "; counted from /proc: the main thread, threads started before swheap, or made without pthread_create"
            sites.append(verdict)
        }
        sites.sort(by: ranksBefore)

        let timelineFigures = indices.map { index -> ThreadRanking.EpochFigures in
            let census = censuses[index]!
            return ThreadRanking.EpochFigures(epoch: process.epochs[index].epoch, running: census.running + UInt64(census.untracked),
                                              exitedUnjoined: census.exitedUnjoined, stackBytes: census.stackBytes,
                                              untracked: census.untracked)
        }
        return ThreadRanking(running: last.running + UInt64(last.untracked), exitedUnjoined: last.exitedUnjoined,
                             stackBytes: last.stackBytes, gone: last.sites.reduce(0) { $0 &+ $1.gone },
                             beforeProfiling: last.beforeProfiling, untracked: last.untracked,
                             isTruncated: censuses.contains { $0?.isTruncated ?? false }, sites: sites,
                             timeline: timelineFigures)
    }

    static func ranksBefore(_ a: ThreadSiteVerdict, _ b: ThreadSiteVerdict) -> Bool {
        func tier(_ v: ThreadVerdict) -> Int { v == .growing ? 0 : v == .neverJoined ? 1 : v == .tooFewEpochs ? 2 : 3 }
        if tier(a.verdict) != tier(b.verdict) { return tier(a.verdict) < tier(b.verdict) }
        let heldA = a.running + a.exitedUnjoined, heldB = b.running + b.exitedUnjoined
        if heldA != heldB { return heldA > heldB }
        if a.stackBytes != b.stackBytes { return a.stackBytes > b.stackBytes }
        return (a.isUntracked ? 1 : 0, a.stackID) < (b.isUntracked ? 1 : 0, b.stackID)
    }

    /// The verdict and reason of one site from the threads it held at each dump with a census.
    static func judge(_ v: inout ThreadSiteVerdict, series: [Double], times: [Double], endsWithFinal: Bool,
                      thresholds t: RankingThresholds) {
        let n = series.count
        let heldNow = v.running + v.exitedUnjoined
        var verdict: ThreadVerdict = v.exitedUnjoined > 0 ? .neverJoined : .stable
        var reason = heldNow == 0 ? "no thread held (\(v.gone) gone)"
            : v.running > 0 ? "\(v.running) running" : "\(v.exitedUnjoined) exited"
        if n < t.minimumEpochsForTrend {
            reason += ", only \(n) dump(s) with a thread count: no trend"
        } else {
            let trend = LiveTrend(liveBytes: series, elapsedSeconds: times, endsWithFinalDump: endsWithFinal,
                                  thresholds: t)
            let duration = (times.last ?? 0) - (times[min(trend.windowStart, n - 1)])
            let rise = trend.slope * duration
            let rising = trend.significance >= t.minimumSignificance && trend.tau >= t.minimumTau
                && trend.relativeRise >= t.minimumRelativeRise && rise >= 1 && trend.risesAtEnd
                && trend.lateLevel > trend.earlyLevel
            let first = series[min(trend.windowStart, n - 1)], peak = series.max() ?? 0
            // Two threads at least: a single short thread caught running by a dump is no batch.
            if trend.drops >= 2 && peak >= 2 {
                verdict = .sawtooth
                reason += ", filled and emptied \(trend.drops) times (peak \(whole(peak)))"
            } else if rising {
                verdict = trend.analysedCount >= t.minimumEpochsForGrowth ? .growing : .tooFewEpochs
                v.growthPerSecond = max(0, trend.slope)
                reason += ", threads held rose from \(whole(first)) to \(whole(trend.lastBytes)) over \(trend.analysedCount) epochs "
                    + "(\(rate(trend.slope)))"
                if trend.ignoredTeardown {
                    reason += " until the final dump, which found \(heldNow == 0 ? "them all" : "most of them") joined or ended: "
                        + "held for the whole run, released at exit"
                }
                if verdict == .tooFewEpochs {
                    reason += ", too few epochs to tell from a pool still filling (\(t.minimumEpochsForGrowth) needed)"
                } else if trend.ignoredTeardown {
                    reason += " (join each thread when its work is done, or detach it)"
                } else if v.exitedUnjoined == 0 && !v.isUntracked {
                    reason += "; they never end: blocked for ever (a queue nobody feeds, a socket never closed?)"
                }
            } else if heldNow > 0 && trend.lateLevel > trend.earlyLevel && trend.earlyLevel < peak {
                if verdict != .neverJoined { verdict = .plateau }
                reason += ", rose to \(whole(peak)) and stayed (a pool that filled)"
            } else if heldNow > 0 {
                reason += ", flat"
            }
        }
        if v.exitedUnjoined > 0 {
            reason += "; never joined: \(v.exitedUnjoined) stack\(v.exitedUnjoined == 1 ? "" : "s"), \(mebibytes(v.unjoinedBytes)) "
                + "(fix: pthread_join them, or detach them: pthread_detach or PTHREAD_CREATE_DETACHED)"
        }
        v.verdict = verdict
        v.reason = reason
    }

    static func whole(_ x: Double) -> String { String(Int64(x.rounded())) }

    static func rate(_ perSecond: Double) -> String {
        perSecond * 60 >= 1 ? "+\(whole(perSecond * 60))/min" : "+\(whole(perSecond * 3600))/h"
    }

    static func mebibytes(_ bytes: UInt64) -> String {
        let mib = Double(bytes) / 1_048_576
        return mib >= 10 ? "\(Int(mib.rounded())) MiB" : format1(mib) + " MiB"
    }

    static func format1(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
