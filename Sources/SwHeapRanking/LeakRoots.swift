// Leak roots: sites that grow together under a common caller are one finding named by that
// caller. A Swift retain cycle leaks two objects and what they own from separate allocation
// sites; the function that builds the cycle is their common caller and what a person fixes.
//
// Sites belong together when all of: both growing (and not suppressed); the caller is a user
// frame within `RankingThresholds.rootCallerDepth` callers of each site (so an event loop or
// `main` far above never gathers unrelated leaks; program entry points never count); and they
// grow as one cohort: the live bytes, each scaled to its peak, follow the same curve within
// sampling noise (same onset, rates in proportion).

import SwHeapSymbols
import SwHeapDump

/// Sites growing together under one caller.
public struct LeakRoot: Sendable {
    /// The common caller's function, without arguments.
    public var caller: String
    /// The member sites, strongest first.
    public var members: [SiteVerdict]
    public var score: Double { members.map(\.score).max() ?? 0 }
    public var liveBytes: Double { members.reduce(0) { $0 + $1.liveBytes } }
    public var growthBytesPerSecond: Double { members.reduce(0) { $0 + $1.growthBytesPerSecond } }
    /// The epoch of the live scan the unreferenced figures come from; nil: the exit scan's.
    public var liveScanEpoch: UInt64? { members.first?.assessment.liveScanEpoch }
    /// Nil when the last dump was not scanned.
    public var unreferencedBytes: Double? {
        members.contains { $0.unreferencedBytes == nil } ? nil : members.reduce(0) { $0 + ($1.unreferencedBytes ?? 0) }
    }
}

enum LeakRoots {
    /// Functions that are above everything a program does: never a root.
    static func isEntryPoint(_ function: String) -> Bool {
        function == "main" || function.hasSuffix("$main") || function.hasSuffix(".main") || function.hasSuffix("::main")
            || function == "_start" || function.hasPrefix("__libc_start") || function == "start_thread"
            || function.hasPrefix("clone")
    }

    /// The callers of a site's stacks, innermost first: for each, the set of user functions
    /// within `depth` frames above the site frame (its own function included at distance 0).
    static func callers(of site: SiteVerdict, depth: Int) -> [String: Int] {
        var distance: [String: Int] = [:]
        for child in site.stacks {
            let frames = child.stack.frames
            guard let first = child.stack.siteFrameIndex, !frames[first].isRuntime else { continue }
            var seen = 0
            for frame in frames[first...] where !frame.isRuntime {
                let name = StackNames(frames: [frame]).siteName
                if seen > depth || isEntryPoint(name) { break }
                distance[name] = min(distance[name] ?? .max, seen)
                seen += 1
            }
        }
        return distance
    }

    /// Roots among `sites` (ranked), given each site's merged live bytes by stack id.
    static func find(_ sites: [SiteVerdict], liveBytes: [UInt32: EpochSeries], thresholds t: RankingThresholds) -> [LeakRoot] {
        let candidates = sites.filter { $0.verdict == .growing && $0.suppressedBy == nil }
        guard candidates.count >= 2 else { return [] }
        let chains = candidates.map { callers(of: $0, depth: t.rootCallerDepth) }
        var assigned = Set<Int>()
        var roots: [LeakRoot] = []
        for anchor in candidates.indices where !assigned.contains(anchor) {
            // Every caller of the anchor that also calls a cohort partner: keep the one that
            // gathers the most sites; among equals, the closest to the sites.
            var best: (caller: String, members: [Int], distance: Int)?
            for (caller, distance) in chains[anchor] where distance > 0 {
                let members = candidates.indices.filter { other in
                    !assigned.contains(other) && chains[other][caller] != nil
                        && (other == anchor || sameCohort(liveBytes[candidates[anchor].stackID],
                                                          liveBytes[candidates[other].stackID],
                                                          samples: (candidates[anchor].assessment.peakSamples,
                                                                    candidates[other].assessment.peakSamples), t))
                }
                guard members.count >= 2 else { continue }
                let far = members.map { chains[$0][caller]! }.max()!
                if best == nil || members.count > best!.members.count
                    || (members.count == best!.members.count && (far, caller) < (best!.distance, best!.caller)) {
                    best = (caller, members, far)
                }
            }
            guard let best else { continue }
            assigned.formUnion(best.members)
            roots.append(LeakRoot(caller: best.caller, members: best.members.map { candidates[$0] }))
        }
        return roots.sorted { ($0.score, $0.growthBytesPerSecond) > ($1.score, $1.growthBytesPerSecond) }
    }

    /// Same onset and proportional growth: the series scaled to their peak stay within sampling
    /// noise of each other at every epoch. With n samples a scaled value wobbles by up to
    /// √(0.25/n), so the tolerance widens for sparse sites: sites that cannot be told apart
    /// stay together, sites shown to differ (a leak starting half-way) are split.
    static func sameCohort(_ a: EpochSeries?, _ b: EpochSeries?, samples: (Double?, Double?), _ t: RankingThresholds) -> Bool {
        // Scaled to the peak, not the last value: a final dump may follow exit-time frees.
        guard let a, let b, a.count == b.count, let peakA = a.max(), let peakB = b.max(), peakA > 0, peakB > 0 else { return false }
        let x = a.map { $0 / peakA }, y = b.map { $0 / peakB }
        let noise = (0.25 / max(1, samples.0 ?? .infinity) + 0.25 / max(1, samples.1 ?? .infinity)).squareRoot()
        let distance = zip(x, y).map { abs($0 - $1) }.max() ?? 1
        return distance <= t.rootCurveDistance + t.rootCurveNoiseMultiple * noise
    }
}
