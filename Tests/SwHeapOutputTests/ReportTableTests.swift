import XCTest
import SwHeapDump
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

    /// The growth column shows the rate a growing verdict rests on, with its epochs, and no
    /// rate beside any other verdict (a plateau "+38.8 MiB/min", a cache "-19.5 MiB/min" read
    /// as contradictions); the HTML report's rows likewise.
    func testGrowthColumnAgreesWithTheVerdict() throws {
        let (leak, leakTimeline) = Scenario.lateLeak.simulate(epochs: 24)
        let (cache, _) = Scenario.boundedCache.simulate(epochs: 24)
        var cacheSite = cache
        cacheSite.stackID = 2
        // A cache whose level wanders down in its second half: a negative slope there.
        var wandering = Array(cacheSite.liveBytes)
        for i in 18..<24 { wandering[i] *= 0.8 }
        cacheSite.liveBytes = EpochSeries(wandering)
        let names = ClosureSiteNaming { stackID, _ in
            StackNames(frames: [FrameName(function: stackID == 1 ? "leak_late" : "cache_put", file: "a.c", line: Int(stackID))])
        }
        let ranking = LeakRanker.ranking(timeline: leakTimeline, sites: [leak, cacheSite], names: names)
        let report = ProcessReport(pid: 7, executable: "/bin/a", commandLine: [], ranking: ranking)
        let text = ReportTable(style: ReportStyle(usesColour: false)).render([report])
        let verdicts = Dictionary(uniqueKeysWithValues: ranking.sites.map { ($0.site, $0) })
        let leakVerdict = try XCTUnwrap(verdicts["leak_late"]), cacheVerdict = try XCTUnwrap(verdicts["cache_put"])
        XCTAssertEqual(leakVerdict.verdict, .growing)
        XCTAssertNotEqual(cacheVerdict.verdict, .growing)
        let window = try XCTUnwrap(leakVerdict.assessment.growthWindow)
        let leakRow = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("leak_late") })
        XCTAssertTrue(leakRow.contains(Quantity.rate(leakVerdict.growthBytesPerSecond) + ", epochs \(window.lowerBound)–\(window.upperBound)"),
                      String(leakRow))
        let cacheRow = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("cache_put") })
        XCTAssertFalse(cacheRow.contains("/min") || cacheRow.contains("/s") || cacheRow.contains("/h"), String(cacheRow))
        XCTAssertEqual(Quantity.growth(cacheVerdict), "-")
    }
    /// Two sites of one function (two lines calling one wrapper) read the same by name alone:
    /// their rows show where each is.
    func testSitesOfOneFunctionShowTheirLines() {
        let (leak, timeline) = Scenario.steadyLeak.simulate(epochs: 12)
        var other = leak
        other.stackID = 2
        let names = ClosureSiteNaming { stackID, _ in
            StackNames(frames: [FrameName(function: "malloc", isRuntime: true),
                                FrameName(function: "zstrdup", file: "/src/z.c", line: 3, isWrapper: true),
                                FrameName(function: "loadConfig", file: "/src/config.c", line: 100 + Int(stackID))])
        }
        let ranking = LeakRanker.ranking(timeline: timeline, sites: [leak, other], names: names)
        let report = ProcessReport(pid: 7, executable: "/bin/a", commandLine: [], ranking: ranking)
        let rows = ReportTable(style: ReportStyle(usesColour: false)).render([report]).split(separator: "\n")
        XCTAssertEqual(rows.filter { $0.contains("loadConfig (via zstrdup) config.c:101") }.count, 1, rows.joined(separator: "\n"))
        XCTAssertEqual(rows.filter { $0.contains("loadConfig (via zstrdup) config.c:102") }.count, 1, rows.joined(separator: "\n"))
    }
}
