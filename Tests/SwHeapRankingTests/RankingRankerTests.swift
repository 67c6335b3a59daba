import XCTest
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapSymbols
@testable import SwHeapTestSupport

final class RankingRankerTests: XCTestCase {
    /// One process with every scenario as its own site, named after the scenario.
    func mixedProcess(rate: Double = 1, seed: UInt64 = 1) -> (EpochTimeline, [SiteHistory], [UInt32: [UInt64]]) {
        var sites: [SiteHistory] = []
        var timeline: EpochTimeline!
        var frames: [UInt32: [UInt64]] = [:]
        for (index, scenario) in Scenario.allCases.enumerated() {
            let (site, t) = scenario.simulate(rate: rate, seed: seed &+ UInt64(index))
            var named = site
            named.stackID = UInt32(index + 1)
            sites.append(named)
            timeline = t
            frames[named.stackID] = [UInt64(index + 1)]
        }
        return (timeline, sites, frames)
    }

    let scenarioNames = ClosureSiteNaming { stackID, _ in
        let scenario = Scenario.allCases[Int(stackID) - 1]
        return StackNames(frames: [
            FrameName(function: "malloc", modulePath: "/usr/lib/libc.so.6", isRuntime: true),
            FrameName(function: "\(scenario.rawValue)(unsigned long)", file: "fixture.c", line: Int(stackID)),
            FrameName(function: "main", file: "fixture.c", line: 99),
        ])
    }

    func testLeaksRankFirstAndNothingElseGrows() {
        for rate: Double in [1, 64 * 1024] {
            let (timeline, sites, frames) = mixedProcess(rate: rate, seed: 11)
            let ranking = LeakRanker.ranking(timeline: timeline, sites: sites, frames: frames, names: scenarioNames)
            let leaks = Set(Scenario.allCases.filter(\.isLeak).map(\.rawValue))
            let top = ranking.sites.prefix(leaks.count)
            XCTAssertEqual(Set(top.map(\.site)), leaks, "rate \(rate)")
            XCTAssertTrue(top.allSatisfy { $0.verdict == .growing && $0.score >= 0.5 })
            XCTAssertTrue(ranking.sites.dropFirst(leaks.count).allSatisfy { $0.verdict != .growing && $0.score < 0.5 })
            XCTAssertEqual(ranking.sites.map(\.rank), Array(1...ranking.sites.count))
        }
    }

    func testSiteIsFirstUserFrameWithoutArguments() {
        let (timeline, sites, frames) = mixedProcess()
        let ranking = LeakRanker.ranking(timeline: timeline, sites: sites, frames: frames, names: scenarioNames)
        let leak = ranking.sites.first { $0.site == "steadyLeak" }
        XCTAssertNotNil(leak)
        XCTAssertEqual(leak?.stack.frames.map(\.displayText).last, "main (fixture.c:99)")
        XCTAssertTrue(leak?.reason.contains("100% of objects born in epochs 1–6 still alive") ?? false, leak?.reason ?? "")
    }

    func testSuppressedSitesAreHiddenButCounted() throws {
        let (timeline, sites, frames) = mixedProcess()
        let rules = try Suppressions.parse("leak:steadyLeak\n", source: "test.supp")
        let ranking = LeakRanker.ranking(timeline: timeline, sites: sites, frames: frames, names: scenarioNames,
                                         suppressions: rules)
        XCTAssertFalse(ranking.suspects.contains { $0.site == "steadyLeak" })
        XCTAssertEqual(ranking.suppressed.map(\.site), ["steadyLeak"])
        XCTAssertFalse(ranking.listed().contains { $0.site == "steadyLeak" })
        XCTAssertEqual(ranking.suppressed.first?.suppressedBy?.origin, "test.supp:1")
    }

    func testNotableNonSuspectsAreListedWithTheirVerdict() {
        let (timeline, sites, frames) = mixedProcess()
        let listed = LeakRanker.ranking(timeline: timeline, sites: sites, frames: frames, names: scenarioNames).listed()
        XCTAssertEqual(listed.first { $0.site == "boundedCache" }?.verdict, .plateau)
        XCTAssertEqual(listed.first { $0.site == "startupTable" }?.verdict, .stable)
    }

    func testFunctionNamesLoseArgumentsAndReturnTypes() {
        XCTAssertEqual(FunctionName.withoutArguments("ns::Cache::put(std::string const&) const"), "ns::Cache::put")
        XCTAssertEqual(FunctionName.withoutArguments("void std::vector<int, std::allocator<int> >::_M_realloc_insert<int>(int&&)"),
                       "std::vector<int, std::allocator<int> >::_M_realloc_insert<int>")
        XCTAssertEqual(FunctionName.withoutArguments("(anonymous namespace)::grow(int)"), "(anonymous namespace)::grow")
        XCTAssertEqual(FunctionName.withoutArguments("Handler::operator()(int)"), "Handler::operator()")
        XCTAssertEqual(FunctionName.withoutArguments("leak_slowly"), "leak_slowly")
        XCTAssertEqual(FunctionName.withoutArguments("App.Cache.insert(key: Swift.String) -> ()"), "App.Cache.insert")
        XCTAssertEqual(FunctionName.withoutArguments("fixture.so+0x1234"), "fixture.so+0x1234")
    }

    func testQuantitiesReadNaturally() {
        XCTAssertEqual(Quantity.bytes(812), "812 B")
        XCTAssertEqual(Quantity.bytes(4.1 * 1024 * 1024), "4.1 MiB")
        XCTAssertEqual(Quantity.rate(4.1 * 1024 * 1024 / 60), "+4.1 MiB/min")
        XCTAssertEqual(Quantity.rate(10), "+35.2 KiB/h")
        XCTAssertEqual(Quantity.percent(0.974), "97%")
    }
}
