// The ranker's output for one site: everything a report prints about it.

import SwHeapSymbols

public struct SiteVerdict: Sendable {
    /// 1-based position in the process's ranking (suspects first).
    public var rank: Int
    /// The lowest stack id among the site's stacks (stable order).
    public var stackID: UInt32
    /// Function of the first frame that is not allocator or runtime code, without arguments.
    public var site: String
    /// The stack holding the most live bytes; `stacks` has them all, largest first.
    public var stack: StackNames
    public var stacks: [SiteStack]
    public var verdict: Verdict
    public var shape: SiteShape
    /// Evidence of growth without release, in [0, 1]: growing ≥ 0.5, leaked-at-exit in
    /// [0.2, 0.5), the rest below 0.2.
    public var score: Double
    public var assessment: SiteAssessment
    /// The rule that hides this site from suspects, if any.
    public var suppressedBy: Suppression?
    /// Share of the process's live bytes at the last epoch.
    public var heapShare: Double

    /// Growing or leaked at exit, and not suppressed.
    public var isSuspect: Bool { verdict.isSuspect && suppressedBy == nil }
    public var liveBytes: Double { assessment.liveBytes }
    public var growthBytesPerSecond: Double { assessment.growthBytesPerSecond }
    public var unreferencedBytes: Double? { assessment.unreferencedBytes }
    public var unreferencedObjects: Double? { assessment.unreferencedObjects }
    /// `file:line` of the allocation site, nil when unknown.
    public var location: String? { stack.siteLocation }
    public var referencedBytes: Double? { assessment.referencedBytes }
}
