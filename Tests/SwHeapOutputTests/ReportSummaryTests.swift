// Many processes: one summary line each, what matters first; details only for processes
// with findings unless asked for all.
import XCTest
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapSymbols
@testable import SwHeapTestSupport

final class ReportSummaryTests: XCTestCase {
    let names = ClosureSiteNaming { id, _ in StackNames(frames: [FrameName(function: "site\(id)", file: "a.c", line: Int(id))]) }

    func report(pid: Int32, scenario: Scenario, command: String) -> ProcessReport {
        let (site, timeline) = scenario.simulate(seed: UInt64(pid))
        let ranking = LeakRanker.ranking(timeline: timeline, sites: [site], names: names)
        return ProcessReport(pid: pid, executable: "/bin/sh", commandLine: [command], ranking: ranking)
    }

    func processes() -> [ProcessReport] {
        (1...40).map { report(pid: Int32(100 + $0), scenario: .startupTable, command: "sh -c step\($0)") }
            + [report(pid: 500, scenario: .steadyLeak, command: "leaky-worker --serve"),
               report(pid: 90, scenario: .boundedCache, command: "cache-daemon")]
    }

    func testSummaryFirstThenOnlyProcessesWithFindings() {
        let text = ReportTable(style: ReportStyle(usesColour: false)).render(processes())
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "42 processes")
        XCTAssertTrue(lines[2].contains("500") && lines[2].contains("growing") && lines[2].contains("leaky-worker"), text)
        XCTAssertEqual(lines.dropFirst(2).prefix(42).count { $0.contains("sh -c step") || $0.contains("cache-daemon") || $0.contains("leaky") }, 42)
        XCTAssertTrue(text.contains("41 process(es) without findings not detailed"), text)
        XCTAssertEqual(text.components(separatedBy: "pid 500").count - 1, 1, "the leaking process is detailed")
        XCTAssertFalse(text.contains("pid 101:"), "processes without findings are not detailed")
        XCTAssertLessThan(lines.count, 70, "42 processes stay readable")
    }

    func testDetailsForAllShowsEveryProcess() {
        let text = ReportTable(style: ReportStyle(usesColour: false)).render(processes(), detailsForAll: true)
        XCTAssertTrue(text.contains("pid 101:") && text.contains("pid 90:") && text.contains("pid 500"), text)
        XCTAssertFalse(text.contains("not detailed"))
    }

    func testOneProcessIsDetailedWithoutSummary() {
        let text = ReportTable(style: ReportStyle(usesColour: false)).render([report(pid: 7, scenario: .boundedCache, command: "x")])
        XCTAssertTrue(text.hasPrefix("pid 7"), text)
    }
}
