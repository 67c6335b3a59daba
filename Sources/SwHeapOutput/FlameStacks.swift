// The stacks a flame graph draws: one per allocation site, root first, with the allocator and
// runtime frames left out as in the report, weighted by one of pprof's four sample types at an
// epoch (and at a base epoch, for a differential graph).

import SwHeapDump
import SwHeapRanking
import SwHeapStore
import SwHeapSymbols

/// What a flame graph's widths measure (pprof's sample type names).
public enum FlameValue: String, CaseIterable, Sendable {
    case inuseSpace = "inuse_space"
    case inuseObjects = "inuse_objects"
    case allocSpace = "alloc_space"
    case allocObjects = "alloc_objects"

    public var isBytes: Bool { self == .inuseSpace || self == .allocSpace }

    /// Per-epoch series of a site for this value (alloc_* are cumulative since process start).
    func series(of site: Site) -> EpochSeries {
        switch self {
        case .inuseSpace: site.liveBytes
        case .inuseObjects: site.liveObjects
        case .allocSpace: site.allocBytes
        case .allocObjects: site.allocObjects
        }
    }
}

/// One frame as the graph shows it.
public struct FlameFrame: Hashable, Sendable {
    public var name: String
    /// File name of the module ("" when unknown): frames are coloured by it.
    public var module: String
    /// Set on the site frame of a suspect (growing or leaked at exit): it is coloured by it.
    public var verdict: Verdict?
}

/// One site's stack, root first, with its value at the epoch and at the base (0 without one).
public struct FlameStack: Sendable {
    public var frames: [FlameFrame]
    public var value: Double
    public var baseValue: Double

    /// What the graph's widths show: the value, or its growth since the base (never negative).
    public func width(differential: Bool) -> Double {
        differential ? max(0, value - baseValue) : max(0, value)
    }
}

public enum FlameStacks {
    /// The stacks of `process` at `epochIndex` (minus `baseIndex` when given). `verdicts` maps
    /// stack ids of suspects to their verdict; sites with nothing to draw are left out.
    public static func collect(process: ProcessHeap, epochIndex: Int, baseIndex: Int? = nil, value: FlameValue,
                               names: any SiteNaming, verdicts: [UInt32: Verdict] = [:]) -> [FlameStack] {
        process.sites.compactMap { site in
            let series = value.series(of: site)
            let now = finite(series[epochIndex])
            let before = baseIndex.map { finite(series[$0]) } ?? 0
            if now == 0 && before == 0 { return nil }
            let stack = names.names(stackID: site.stackID, frames: site.frames)
            return FlameStack(frames: userFrames(stack, verdict: verdicts[site.stackID]), value: now, baseValue: before)
        }
    }

    /// The verdicts that colour site frames: the suspects of a ranking, on every stack of each.
    public static func suspectVerdicts(_ ranking: ProcessRanking) -> [UInt32: Verdict] {
        Dictionary(ranking.suspects.flatMap { v in v.stacks.map { ($0.stackID, v.verdict) } }, uniquingKeysWith: { first, _ in first })
    }

    /// From the first user frame outward (allocation wrappers included, above their callers),
    /// reversed so the root comes first. The verdict colours the site frame.
    static func userFrames(_ stack: StackNames, verdict: Verdict?) -> [FlameFrame] {
        let start = stack.frames.firstIndex { !$0.isRuntime } ?? max(stack.frames.count - 1, 0)
        let site = stack.siteFrameIndex ?? start
        var frames = stack.frames[start...].enumerated().map { index, frame in
            FlameFrame(name: FunctionName.withoutArguments(frame.function),
                       module: frame.modulePath.split(separator: "/").last.map(String.init) ?? "",
                       verdict: start + index == site ? verdict : nil)
        }
        frames.reverse()
        return frames.isEmpty ? [FlameFrame(name: "(no frames)", module: "", verdict: verdict)] : frames
    }

    private static func finite(_ value: Double) -> Double { value.isFinite ? value : 0 }
}
