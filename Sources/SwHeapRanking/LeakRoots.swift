// Leak roots: sites that make one structure in the heap, or that grow together under a common
// caller, are one finding.
//
// The heap graph first, where a scan recorded it: growing sites whose unreferenced blocks lie
// in one unreferenced component (a dropped list's head and nodes), or whose referenced blocks
// have the same holder (the same owning block, or the same root when nothing owns them between)
// are one finding, whatever their callers. The sites left then group by their callers, but
// never an unreferenced site with a held one: two bugs under one request handler (a dropped
// block and a global array grown by realloc) stay two findings, while a retain cycle's two
// sites, too sparsely sampled to share a component, still meet at their caller:
//
// A Swift retain cycle leaks two objects and what they own from separate allocation
// sites; the function that builds the cycle is their common caller and what a person fixes.
//
// Sites belong together when all of: both growing (and not suppressed); the caller is a user
// frame within `RankingThresholds.rootCallerDepth` callers of each site (so an event loop or
// `main` far above never gathers unrelated leaks; program entry points never count); and they
// grow as one cohort: the live bytes, each scaled to its peak, follow the same curve within
// sampling noise (same onset, rates in proportion).

import SwHeapSymbols
import SwHeapDump

/// Sites growing together under one caller, or in one structure of the heap.
public struct LeakRoot: Sendable {
    /// What makes the members one finding.
    public enum Basis: String, Sendable {
        /// A common caller (`caller`).
        case caller
        /// The same holder at the scan: one owning block, or one root.
        case holder
        /// One unreferenced component at the scan.
        case component
    }
    /// The common caller's function, without arguments; for a heap finding without one, the
    /// strongest member's site.
    public var caller: String
    public var basis: Basis = .caller
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

    /// What ties a site to others in the heap at the scan: its unreferenced components, else
    /// its holder (the owning block right before it, else the root word); nil when the scan
    /// recorded neither.
    enum HeapTie: Hashable {
        case component(UInt32)
        case owner(block: UInt64)
        case root(ScanHolder.Kind, thread: UInt32?, address: UInt64)

        var isComponent: Bool { if case .component = self { true } else { false } }
    }

    static func heapTies(of site: SiteVerdict) -> [HeapTie]? {
        let components = site.stacks.flatMap(\.unreferencedComponents)
        if !components.isEmpty { return Set(components).sorted().map(HeapTie.component) }
        guard let held = site.stacks.compactMap(\.heldBy).min(by: { $0.blocksBetween < $1.blocksBetween }) else { return nil }
        if held.blocksBetween > 0, let owner = held.steps.last, owner.index + 1 == held.blocksBetween {
            return [.owner(block: owner.address)]
        }
        return [.root(held.kind, thread: held.thread, address: held.address)]
    }

    /// Roots among `sites` (ranked), given each site's merged live bytes by stack id.
    static func find(_ sites: [SiteVerdict], liveBytes: [UInt32: EpochSeries], thresholds t: RankingThresholds) -> [LeakRoot] {
        let growing = sites.filter { $0.verdict == .growing && $0.suppressedBy == nil }
        guard growing.count >= 2 else { return [] }
        let ties = growing.map(heapTies)
        let heapRoots = byHeap(growing.indices.filter { ties[$0] != nil }.map { (growing[$0], ties[$0]!) }, thresholds: t)
        let inHeapRoots = Set(heapRoots.flatMap { $0.members.map(\.stackID) })
        let callerRoots = byCaller(growing.filter { !inHeapRoots.contains($0.stackID) }, liveBytes: liveBytes, thresholds: t)
        return (heapRoots + callerRoots).sorted { ($0.score, $0.growthBytesPerSecond) > ($1.score, $1.growthBytesPerSecond) }
    }

    /// What the scan says of a site: unreferenced (some of its blocks are), referenced (held),
    /// or nothing. Sparse samples rarely put two sampled blocks in one component, so sites the
    /// heap did not group may still share a caller; but an unreferenced site and a held one
    /// are two findings whatever their caller (a dropped block beside a global array).
    enum Evidence { case unreferenced, referenced }

    static func evidence(of site: SiteVerdict) -> Evidence? {
        guard let ties = heapTies(of: site) else { return nil }
        return ties.first?.isComponent == true ? .unreferenced : .referenced
    }

    /// Sites sharing a heap tie, transitively: one finding per group of two or more.
    static func byHeap(_ sites: [(site: SiteVerdict, ties: [HeapTie])], thresholds t: RankingThresholds) -> [LeakRoot] {
        var group = Array(sites.indices)
        func find(_ i: Int) -> Int { group[i] == i ? i : find(group[i]) }
        var firstWith: [HeapTie: Int] = [:]
        for (index, entry) in sites.enumerated() {
            for tie in entry.ties {
                if let other = firstWith[tie] { group[find(index)] = find(other) } else { firstWith[tie] = index }
            }
        }
        let groups = Dictionary(grouping: sites.indices, by: find).values.filter { $0.count >= 2 }
        return groups.map { members in
            let verdicts = members.sorted().map { sites[$0].site }
            let chains = verdicts.map { callers(of: $0, depth: t.rootCallerDepth) }
            let shared = chains.dropFirst().reduce(Set(chains[0].keys.filter { chains[0][$0]! > 0 })) { $0.intersection($1.keys) }
            func far(_ caller: String) -> Int { chains.map { $0[caller]! }.max()! }
            let caller = shared.min { (far($0), $0) < (far($1), $1) } // the closest to every member
            let component = sites[members[0]].ties[0].isComponent
            return LeakRoot(caller: caller ?? verdicts[0].site, basis: component ? .component : .holder, members: verdicts)
        }
    }

    /// Sites growing together under a common caller.
    static func byCaller(_ candidates: [SiteVerdict], liveBytes: [UInt32: EpochSeries], thresholds t: RankingThresholds) -> [LeakRoot] {
        guard candidates.count >= 2 else { return [] }
        let chains = candidates.map { callers(of: $0, depth: t.rootCallerDepth) }
        let evidence = candidates.map(evidence(of:))
        var assigned = Set<Int>()
        var roots: [LeakRoot] = []
        for anchor in candidates.indices where !assigned.contains(anchor) {
            // Every caller of the anchor that also calls a cohort partner: keep the one that
            // gathers the most sites; among equals, the closest to the sites.
            var best: (caller: String, members: [Int], distance: Int)?
            for (caller, distance) in chains[anchor] where distance > 0 {
                var members = candidates.indices.filter { other in
                    !assigned.contains(other) && chains[other][caller] != nil
                        && (other == anchor || sameCohort(liveBytes[candidates[anchor].stackID],
                                                          liveBytes[candidates[other].stackID],
                                                          samples: (candidates[anchor].assessment.peakSamples,
                                                                    candidates[other].assessment.peakSamples), t))
                }
                // One kind of evidence per finding: the first the members (anchor first) have.
                if let kind = members.lazy.compactMap({ evidence[$0] }).first {
                    members = members.filter { evidence[$0] == nil || evidence[$0] == kind }
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
        return roots
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
