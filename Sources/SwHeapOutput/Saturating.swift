// Double to integer without a trap: Swift's Int(_: Double) stops the program on NaN, an
// infinity or a value out of range. The reader rejects such estimates, but sums, ratios and
// scaled values are made here too, so every conversion for output goes through this one.

extension Int64 {
    /// Rounded to nearest; NaN is 0 and anything out of range is the nearest bound.
    init(saturating value: Double) {
        let rounded = value.rounded()
        if rounded.isNaN { self = 0 }
        // 2^63 is exact in Double; Int64.max is not, so compare with >=.
        else if rounded >= 9_223_372_036_854_775_808.0 { self = .max }
        else if rounded <= -9_223_372_036_854_775_808.0 { self = .min }
        else { self = Int64(rounded) }
    }
}

extension Int {
    /// Rounded to nearest; NaN is 0 and anything out of range is the nearest bound.
    init(saturating value: Double) { self = Int(Int64(saturating: value)) }
}
