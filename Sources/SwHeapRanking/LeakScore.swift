// Turns an assessment into a score in [0, 1]. Tiers keep verdicts apart (a growing site always
// outranks a site merely unreferenced at exit); within a tier, stronger evidence and a larger
// share of the process's growth rank higher.

enum LeakScore {
    /// - Parameter growthShare: this site's share of the growth of all growing sites.
    static func score(_ a: SiteAssessment, growthShare: Double, unreferencedShareOfProcess: Double,
                      thresholds w: RankingThresholds) -> Double {
        switch a.verdict {
        case .growing:
            let tau = max(0, a.trend?.tau ?? 0)
            let retention = a.survival?.retention ?? w.unknownRetention
            let trend = a.trend.map { t in t.slope > 0 ? min(1, max(0, t.secondHalfSlope / t.slope)) : 0 } ?? 0
            var evidence = w.tauWeight * tau + w.retentionWeight * retention + w.endSlopeWeight * trend
                + w.growthShareWeight * min(1, growthShare)
            if let unreferenced = a.unreferencedShare {
                evidence = w.scannedEvidenceWeight * evidence + w.unreferencedWeight * unreferenced
            }
            return clamp(w.growingFloor + (1 - w.growingFloor) * evidence, w.growingFloor, 1)
        case .leakedAtExit:
            return clamp(w.leakedFloor + w.leakedShareWeight * (a.unreferencedShare ?? 0)
                         + w.leakedProcessShareWeight * min(1, unreferencedShareOfProcess), w.leakedFloor, w.leakedCeiling)
        case .plateau, .sawtooth, .stable, .tooFewSamples, .tooFewEpochs:
            return clamp(w.otherCeiling * max(0, a.trend?.tau ?? 0) * (a.trend?.risesAtEnd == true ? 1 : w.flatteningWeight),
                         0, w.otherCeiling)
        }
    }

    private static func clamp(_ value: Double, _ low: Double, _ high: Double) -> Double {
        min(high, max(low, value))
    }
}
