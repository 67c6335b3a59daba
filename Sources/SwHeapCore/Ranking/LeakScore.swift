// Turns an assessment into a score in [0, 1]. Tiers keep verdicts apart (a growing site always
// outranks a site merely unreferenced at exit); within a tier, stronger evidence and a larger
// share of the process's growth rank higher.

enum LeakScore {
    /// - Parameter growthShare: this site's share of the growth of all growing sites.
    static func score(_ a: SiteAssessment, growthShare: Double, unreferencedShareOfProcess: Double) -> Double {
        switch a.verdict {
        case .growing:
            let tau = max(0, a.trend?.tau ?? 0)
            let retention = a.survival?.retention ?? 0.5
            let trend = a.trend.map { t in t.slope > 0 ? min(1, max(0, t.secondHalfSlope / t.slope)) : 0 } ?? 0
            var evidence = 0.35 * tau + 0.35 * retention + 0.15 * trend + 0.15 * min(1, growthShare)
            if let unreferenced = a.unreferencedShare { evidence = 0.85 * evidence + 0.15 * unreferenced }
            return clamp(0.5 + 0.5 * evidence, 0.5, 1)
        case .leakedAtExit:
            return clamp(0.2 + 0.2 * (a.unreferencedShare ?? 0) + 0.09 * min(1, unreferencedShareOfProcess), 0.2, 0.49)
        case .plateau, .sawtooth, .stable:
            return clamp(0.19 * max(0, a.trend?.tau ?? 0) * (a.trend?.risesAtEnd == true ? 1 : 0.5), 0, 0.19)
        }
    }

    private static func clamp(_ value: Double, _ low: Double, _ high: Double) -> Double {
        min(high, max(low, value))
    }
}
