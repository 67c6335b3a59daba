import XCTest
@testable import SwHeapDump

final class EpochSeriesTests: XCTestCase {
    /// Values with long constant runs, zeros, signed zero and NaN.
    func sample(_ count: Int, seed: UInt64) -> [Double] {
        var state = seed
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        var values: [Double] = []
        var current = 0.0
        for _ in 0..<count {
            switch next() % 10 {
            case 0: current = Double(next() % 1000)
            case 1: current = 0
            case 2: current = -0.0
            case 3: current = .nan
            default: break
            }
            values.append(current)
        }
        return values
    }

    func testReadsBackEveryValueBitForBit() {
        for seed: UInt64 in 1...20 {
            let values = sample(300, seed: seed)
            let series = EpochSeries(values)
            XCTAssertEqual(series.count, values.count)
            XCTAssertEqual(series.map(\.bitPattern), values.map(\.bitPattern), "in order, seed \(seed)")
            for i in values.indices {
                XCTAssertEqual(series[i].bitPattern, values[i].bitPattern, "at \(i), seed \(seed)")
            }
        }
    }

    func testStoresOnlyChanges() {
        var series = EpochSeries()
        series.append(0, times: 500)
        series.append(7, times: 300)
        series.append(7)
        series.append(0, times: 200)
        XCTAssertEqual(series.count, 1001)
        XCTAssertEqual(series.changeCount, 2)
        XCTAssertEqual(series[499], 0)
        XCTAssertEqual(series[500], 7)
        XCTAssertEqual(series[800], 7)
        XCTAssertEqual(series[801], 0)
        XCTAssertEqual(EpochSeries(zeros: 5), [0, 0, 0, 0, 0])
        XCTAssertEqual(EpochSeries(zeros: 5).changeCount, 0)
    }

    func testEqualSeriesAreEqualHowEverBuilt() {
        var appended = EpochSeries()
        appended.append(3, times: 2)
        appended.append(4)
        XCTAssertEqual(appended, [3, 3, 4])
        XCTAssertEqual(appended.hashValue, EpochSeries([3, 3, 4]).hashValue)
        XCTAssertNotEqual(appended, [3, 3, 4, 4])
    }

    func testSumsEpochByEpochAndPadsTheShorter() {
        let a: EpochSeries = [1, 2, 3, 4]
        let b: EpochSeries = [10, 10]
        XCTAssertEqual(a + b, [11, 12, 3, 4])
        XCTAssertEqual(b + a, [11, 12, 3, 4])
        XCTAssertEqual(EpochSeries() + EpochSeries(), EpochSeries())
    }
}
