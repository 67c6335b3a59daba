// One figure of a site at every epoch, stored as the epochs where it changes. Between two dumps
// of a sampled service only a few stacks move (at the default rate an epoch of 4 MiB takes
// about 8 samples), so a dense sites × epochs table would hold the same numbers over and over:
// a month of 7,000 stacks in 1,000 kept epochs is 56 MB per figure. Stored by change, a report's
// memory follows what changed. Reading in order is O(1) per element; a random index is a binary
// search.

public struct EpochSeries: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral {
    public var count: Int { epochs }
    @usableFromInline var epochs: Int = 0
    /// The epoch indexes where the value changes, increasing; before the first one it is 0.
    @usableFromInline var changeIndexes: [Int32] = []
    /// The value from `changeIndexes[k]` on.
    @usableFromInline var changeValues: [Double] = []

    public init() {}

    /// The series of `values`, in order.
    public init(_ values: some Sequence<Double>) {
        for value in values { append(value) }
    }

    public init(arrayLiteral values: Double...) { self.init(values) }

    /// `count` epochs of 0.
    public init(zeros count: Int) { epochs = count }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(index: Int) -> Double {
        precondition(index >= 0 && index < count, "epoch index \(index) out of 0..<\(count)")
        var low = 0, high = changeIndexes.count
        while low < high {
            let mid = (low + high) / 2
            if Int(changeIndexes[mid]) <= index { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? 0 : changeValues[low - 1]
    }

    /// The value of the newest epoch appended (0 when there is none): `changeValues.last`,
    /// kept beside it because every append reads it.
    @usableFromInline var lastValue: Double = 0

    /// Appends `value` for the next `times` epochs. Inlinable: the store appends every site's
    /// figures at every epoch it reads.
    @inlinable public mutating func append(_ value: Double, times: Int = 1) {
        guard times > 0 else { return }
        // Bit patterns, so -0.0 and NaN round-trip exactly as stored.
        if value.bitPattern != lastValue.bitPattern {
            changeIndexes.append(Int32(count))
            changeValues.append(value)
            lastValue = value
        }
        epochs += times
    }

    /// How many changes are stored (what the series costs).
    public var changeCount: Int { changeIndexes.count }

    /// Epoch by epoch sums; the shorter series counts as 0 past its end.
    public static func + (a: EpochSeries, b: EpochSeries) -> EpochSeries {
        var sum = EpochSeries()
        var x = a.makeIterator(), y = b.makeIterator()
        for _ in 0..<Swift.max(a.count, b.count) { sum.append((x.next() ?? 0) + (y.next() ?? 0)) }
        return sum
    }

    public func makeIterator() -> Iterator { Iterator(series: self) }

    /// Walks the epochs in order without searching.
    public struct Iterator: IteratorProtocol {
        let series: EpochSeries
        var index = 0
        var change = 0
        var value = 0.0

        init(series: EpochSeries) { self.series = series }

        public mutating func next() -> Double? {
            guard index < series.count else { return nil }
            while change < series.changeIndexes.count && Int(series.changeIndexes[change]) <= index {
                value = series.changeValues[change]
                change += 1
            }
            index += 1
            return value
        }
    }
}
