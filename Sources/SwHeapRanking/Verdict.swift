// What the ranker concludes about a site: a verdict for users, a finer shape for reasons.

/// The verdict shown in reports. Raw values are part of the JSON schema (docs/REPORT.md).
public enum Verdict: String, Hashable, Sendable, CaseIterable, Codable {
    /// Live bytes keep rising and what was allocated is not released: a leak.
    case growing
    /// Rose, then flat; or old objects released while new ones replace them (cache, pool).
    case plateau
    /// Repeatedly filled and released (batches).
    case sawtooth
    /// Flat, one-time (start-up), released, or not enough evidence of anything else.
    case stable
    /// Not growing, but the exit-time scan found unreferenced bytes: lost, bounded.
    case leakedAtExit = "leaked-at-exit"
    /// Not growing, and too few sampled objects to tell a cache, batches or a start-up table
    /// apart: the reason says how many there were and what rate or duration would settle it.
    case tooFewSamples = "too-few-samples"
    /// Rising, but over too few epochs to tell a leak from a cache still filling: the reason
    /// says how many epochs there were and how many would settle it.
    case tooFewEpochs = "too-few-epochs"

    /// Suspects are listed first in reports and carry scores of at least 0.2.
    public var isSuspect: Bool { self == .growing || self == .leakedAtExit }
}

/// The finer shape of a site's live bytes over time; explains the verdict.
public enum SiteShape: String, Hashable, Sendable, CaseIterable, Codable {
    case steadyGrowth = "steady-growth"
    /// Flat (or absent) first, rising later.
    case lateGrowth = "late-growth"
    /// Live bytes rise although old objects are freed: a buffer re-allocated ever larger, a backlog.
    case growthWithTurnover = "growth-with-turnover"
    case plateau
    case sawtooth
    /// Allocated in the first epochs, unchanged since (start-up tables).
    case oneTime = "one-time"
    case flat
    /// Nothing (or almost nothing) left at the last epoch.
    case released
    /// Fewer epochs than a trend needs: only exit-time evidence.
    case exitOnly = "exit-only"
    /// Not growing, with fewer samples than `RankingThresholds.minimumShapeSamples`.
    case tooFewSamples = "too-few-samples"
    /// Rising like a leak over fewer than `RankingThresholds.minimumEpochsForGrowth` epochs.
    case tooFewEpochs = "too-few-epochs"

    public var verdict: Verdict {
        switch self {
        case .steadyGrowth, .lateGrowth, .growthWithTurnover: return .growing
        case .plateau: return .plateau
        case .sawtooth: return .sawtooth
        case .oneTime, .flat, .released, .exitOnly: return .stable
        case .tooFewSamples: return .tooFewSamples
        case .tooFewEpochs: return .tooFewEpochs
        }
    }
}
