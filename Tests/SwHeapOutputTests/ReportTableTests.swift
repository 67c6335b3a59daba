import XCTest
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapSymbols
@testable import SwHeapTestSupport

final class ReportTableTests: XCTestCase {
    func testPlainTableHasColumnsAndStacksButNoEscapes() {
        let (leak, timeline) = Scenario.steadyLeak.simulate()
        let names = ClosureSiteNaming { _, _ in
            StackNames(frames: [FrameName(function: "malloc", isRuntime: true), FrameName(function: "leak_slowly", file: "a.c", line: 3)])
        }
        let ranking = LeakRanker.ranking(timeline: timeline, sites: [leak], names: names)
        let report = ProcessReport(pid: 7, executable: "/bin/a", commandLine: [], ranking: ranking)
        let text = ReportTable(style: ReportStyle(usesColour: false)).render([report])
        XCTAssertTrue(text.hasPrefix("pid 7: /bin/a\n"), text)
        XCTAssertTrue(text.contains("verdict"))
        XCTAssertTrue(text.contains("growing"))
        XCTAssertTrue(text.contains("leak_slowly (a.c:3)"))
        XCTAssertFalse(text.contains("\u{1B}["))
        let coloured = ReportTable(style: ReportStyle(usesColour: true)).render([report])
        XCTAssertTrue(coloured.contains("\u{1B}[1;31m"))
    }
}
