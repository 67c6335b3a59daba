// Robust trend statistics. Sampled heap estimates are noisy (±30% at low sample counts), so
// ranking uses rank-based statistics that a few wild points cannot drag around.

enum RobustStatistics {
    /// Median of the values; 0 for an empty array.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Theil–Sen slope: the median of the slopes between every pair of points.
    /// Pairs with equal x are skipped. 0 when fewer than two distinct x exist.
    static func theilSenSlope(x: [Double], y: [Double]) -> Double {
        precondition(x.count == y.count)
        var slopes: [Double] = []
        slopes.reserveCapacity(x.count * (x.count - 1) / 2)
        for i in 0..<x.count {
            for j in (i + 1)..<x.count where x[j] != x[i] {
                slopes.append((y[j] - y[i]) / (x[j] - x[i]))
            }
        }
        return median(slopes)
    }

    /// Kendall's tau-b between x and y, in [-1, 1]; 0 when either side is constant.
    /// tau-b rather than tau-a: exact (rate 1) dumps of a flat site are full of ties.
    static func kendallTau(x: [Double], y: [Double]) -> Double {
        let s = kendallS(x: x, y: y)
        let denominator = (s.pairsUntiedX * s.pairsUntiedY).squareRoot()
        return denominator > 0 ? s.score / denominator : 0
    }

    /// The normal approximation of Kendall's S of `count` points under "no trend" (ties
    /// ignored in the variance, which makes it slightly conservative). About 2.3 means
    /// p ≈ 0.01 one-sided.
    static func kendallZ(score s: Double, count: Int) -> Double {
        let n = Double(count)
        guard n >= 3 else { return 0 }
        let variance = n * (n - 1) * (2 * n + 5) / 18
        // Continuity correction: S moves in steps of 2.
        let corrected = s > 0 ? s - 1 : (s < 0 ? s + 1 : 0)
        return corrected / variance.squareRoot()
    }

    private static func kendallS(x: [Double], y: [Double]) -> (score: Double, pairsUntiedX: Double, pairsUntiedY: Double) {
        precondition(x.count == y.count)
        var score = 0.0, untiedX = 0.0, untiedY = 0.0
        for i in 0..<x.count {
            for j in (i + 1)..<x.count {
                let dx = x[j] - x[i], dy = y[j] - y[i]
                if dx != 0 { untiedX += 1 }
                if dy != 0 { untiedY += 1 }
                if dx != 0 && dy != 0 { score += (dx > 0) == (dy > 0) ? 1 : -1 }
            }
        }
        return (score, untiedX, untiedY)
    }
}
