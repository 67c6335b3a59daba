// The one formatter and the one column aligner, in both the report's and the listing's styles.

import XCTest
@testable import SwHeapOutput

final class QuantityTests: XCTestCase {
    func testBytesInBothPrecisions() {
        XCTAssertEqual(Quantity.bytes(812), "812 B")
        XCTAssertEqual(Quantity.bytes(1536), "1.5 KiB")
        XCTAssertEqual(Quantity.bytes(1536, precision: .tenths), "1.5 KiB")
        XCTAssertEqual(Quantity.bytes(123.4 * 1024), "123 KiB")
        XCTAssertEqual(Quantity.bytes(123.4 * 1024, precision: .tenths), "123.4 KiB")
        XCTAssertEqual(Quantity.bytes(99.96 * 1024 * 1024), "100 MiB")
        XCTAssertEqual(Quantity.bytes(-2048), "-2.0 KiB")
        XCTAssertEqual(Quantity.bytes(-0.2), "0 B")
        XCTAssertEqual(Quantity.bytes(.nan, precision: .tenths), "0 B")
        XCTAssertEqual(Quantity.bytes(.infinity), "0 B")
        XCTAssertEqual(Quantity.bytes(3 * 1024 * 1024 * 1024 * 1024 * 1024), "3.0 PiB")
    }

    func testUnreferencedCountsObjectsThatHoldNoBytes() {
        XCTAssertEqual(Quantity.unreferenced(bytes: nil, objects: nil), "-")
        XCTAssertEqual(Quantity.unreferenced(bytes: 0, objects: 0), "0 B")
        XCTAssertEqual(Quantity.unreferenced(bytes: 0, objects: 1), "1 object")
        XCTAssertEqual(Quantity.unreferenced(bytes: 0, objects: 3), "3 objects")
        XCTAssertEqual(Quantity.unreferenced(bytes: 2048, objects: 1), "2.0 KiB")
    }

    func testRatesPercentsSecondsAndScores() {
        XCTAssertEqual(Quantity.rate(0), "0 B/s")
        XCTAssertEqual(Quantity.rate(5.7 * 1024 * 1024), "+5.7 MiB/s")
        XCTAssertEqual(Quantity.rate(-100), "-5.9 KiB/min")
        XCTAssertEqual(Quantity.rate(0.5), "+1.8 KiB/h")
        XCTAssertEqual(Quantity.percent(0.974), "97%")
        XCTAssertEqual(Quantity.seconds(75.25), "1m15s")
        XCTAssertEqual(Quantity.seconds(0.5), "0.5s")
        XCTAssertEqual(Quantity.seconds(3725), "1h02m05s")
        XCTAssertEqual(Quantity.seconds(-1), "?")
        XCTAssertEqual(Quantity.hundredths(0.5), "0.50")
        XCTAssertEqual(Quantity.hundredths(1), "1.00")
        XCTAssertEqual(Quantity.hundredths(0.071), "0.07")
    }

    func testColumnsPadAllButTheLastCell() {
        let rows = [["PID", "LIVE", "FLAGS"], ["1", "4.0 MiB", "-"], ["12345", "0 B", "final,scanned"]]
        XCTAssertEqual(Columns().render(rows), """
              PID     LIVE  FLAGS
                1  4.0 MiB  -
            12345      0 B  final,scanned

            """)
        XCTAssertEqual(Columns([.right, .left]).pad([["#", "site", "reason"], ["10", "f", "why"]]),
                       [[" #", "site", "reason"], ["10", "f   ", "why"]])
        XCTAssertEqual(Columns().pad([]), [])
    }

    // MARK: The formatter cannot trap on any Double (what scripts/fuzz-cli once found)

    func testFormatterSurvivesAnyDouble() {
        let values: [Double] = [.nan, -.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                1e308, -1e308, 0x1p63, -0x1p63, 0x1p64, 1e19, .leastNonzeroMagnitude, -0.0]
        for value in values {
            _ = Quantity.bytes(value)
            _ = Quantity.bytes(value, precision: .tenths)
            _ = Quantity.rate(value)
            _ = Quantity.percent(value)
            _ = Quantity.seconds(value)
            _ = Quantity.hundredths(value)
            _ = Quantity.tenths(abs(value))
        }
        XCTAssertEqual(Quantity.bytes(1e308), "\(Int.max) PiB")
        XCTAssertEqual(Quantity.bytes(0x1p64), "16384 PiB")
        XCTAssertEqual(Quantity.percent(.nan), "0%")
    }

    func testSaturatingConversion() {
        XCTAssertEqual(Int64(saturating: .nan), 0)
        XCTAssertEqual(Int64(saturating: .infinity), .max)
        XCTAssertEqual(Int64(saturating: -.infinity), .min)
        XCTAssertEqual(Int64(saturating: 0x1p63), .max)
        XCTAssertEqual(Int64(saturating: -0x1p63), .min)
        XCTAssertEqual(Int64(saturating: 0x1p62), 1 << 62)
        XCTAssertEqual(Int64(saturating: 2.5), 3)
        XCTAssertEqual(Int64(saturating: -2.4), -2)
        XCTAssertEqual(Int(saturating: 1e300), .max)
    }
}
