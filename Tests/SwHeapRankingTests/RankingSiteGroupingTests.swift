// Sites per function and line: a leak reached from two call paths is one suspect with all
// its samples and both stacks as children. Fixed seeds over the simulator.
import XCTest
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapSymbols
@testable import SwHeapTestSupport

final class RankingSiteGroupingTests: XCTestCase {
    /// Stacks 1 and 2: the same `leak` line from two callers; stack 3: a different line.
    let names = ClosureSiteNaming { stackID, _ in
        StackNames(frames: [
            FrameName(function: "malloc", modulePath: "/usr/lib/libc.so.6", isRuntime: true),
            FrameName(function: "leak(int)", file: "/src/app.c", line: stackID == 3 ? 20 : 10),
            FrameName(function: stackID == 1 ? "firstIteration" : "loop", file: "/src/app.c", line: 30 + Int(stackID)),
        ])
    }

    /// Each call path gets half of a leak worth about 10 samples at the default rate over 20 epochs.
    func halves(seed: UInt64) -> (EpochTimeline, [SiteHistory]) {
        var sites: [SiteHistory] = []
        var timeline: EpochTimeline!
        for id in 1...2 as ClosedRange<UInt32> {
            let (site, t) = Scenario.steadyLeak.simulate(epochs: 20, rate: 512 * 1024, seed: seed &* 7 &+ UInt64(id), perEpoch: 128)
            var named = site
            named.stackID = id
            sites.append(named)
            timeline = t
        }
        return (timeline, sites)
    }

    func testTwoCallPathsOfOneLineAreOneSiteWithTwoStacks() {
        let (timeline, sites) = halves(seed: 1)
        let ranking = LeakRanker.ranking(timeline: timeline, sites: sites, names: names)
        XCTAssertEqual(ranking.sites.count, 1)
        let site = ranking.sites[0]
        XCTAssertEqual(site.site, "leak")
        XCTAssertEqual(site.location, "app.c:10")
        XCTAssertEqual(Set(site.stacks.map(\.stackID)), [1, 2])
        XCTAssertEqual(site.stacks.reduce(0) { $0 + $1.liveBytes }, site.liveBytes, accuracy: 1)
        XCTAssertEqual(site.liveBytes, sites.reduce(0) { $0 + ($1.liveBytes.last ?? 0) }, accuracy: 1)
    }

    /// Pooled, the leak is found nearly always; each half alone is found less often.
    func testPooledEvidenceFindsTheLeakMoreOftenThanEitherHalf() {
        var pooled = 0, halvesFound = 0
        for seed in 1...100 as ClosedRange<UInt64> {
            let (timeline, sites) = halves(seed: seed)
            if LeakRanker.ranking(timeline: timeline, sites: sites, names: names).sites.first?.verdict == .growing { pooled += 1 }
            for site in sites where ShapeClassifier().assess(site, timeline: timeline).verdict == .growing { halvesFound += 1 }
        }
        XCTAssertGreaterThanOrEqual(pooled, 90, "pooled \(pooled)/100")
        XCTAssertLessThan(Double(halvesFound) / 2, Double(pooled) - 5, "halves \(halvesFound)/200, pooled \(pooled)/100")
    }

    func testDifferentLinesStaySeparate() {
        let (timeline, sites) = halves(seed: 2)
        var third = sites[1]
        third.stackID = 3
        let ranking = LeakRanker.ranking(timeline: timeline, sites: [sites[0], third], names: names)
        XCTAssertEqual(ranking.sites.count, 2)
        XCTAssertTrue(ranking.sites.allSatisfy { $0.stacks.count == 1 })
    }

    func testJSONCarriesTheStacksAndTheSchemaVersion() throws {
        let (timeline, sites) = halves(seed: 1)
        let ranking = LeakRanker.ranking(timeline: timeline, sites: sites, names: names)
        let report = ProcessReport(pid: 1, executable: "/bin/app", commandLine: ["app"], ranking: ranking)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ReportJSON.render([report]).utf8)) as? [String: Any])
        XCTAssertEqual(json["schema_version"] as? Int, ReportJSON.schemaVersion)
        let processes = try XCTUnwrap(json["processes"] as? [[String: Any]])
        let suspect = try XCTUnwrap((processes.first?["suspects"] as? [[String: Any]])?.first)
        XCTAssertEqual(suspect["location"] as? String, "app.c:10")
        let stacks = try XCTUnwrap(suspect["stacks"] as? [[String: Any]])
        XCTAssertEqual(Set(stacks.compactMap { $0["stack_id"] as? Int }), [1, 2])
        XCTAssertTrue(stacks.allSatisfy { ($0["stack"] as? [String])?.contains { $0.hasPrefix("leak(int) (/src/app.c:10)") } ?? false })
        let table = ReportTable(style: ReportStyle(usesColour: false)).render([report])
        XCTAssertTrue(table.contains("stack 1 of 2") && table.contains("stack 2 of 2"), table)
    }
    /// A leak and a batch ten times its size, both allocating through one wrapper: named after
    /// the wrapper they are one sawtooth site; seen through it, the leaking caller grows.
    func testAGrowingCallerIsFoundBelowAWrapperWhoseTotalIsASawtooth() {
        let (leak, timeline) = Scenario.steadyLeak.simulate(epochs: 24, rate: 1, seed: 3, perEpoch: 10)
        var (batch, _) = Scenario.batches.simulate(epochs: 24, rate: 1, seed: 4, perEpoch: 100)
        batch.stackID = 2
        var leaking = leak
        leaking.stackID = 1
        func naming(seesThrough: Bool) -> ClosureSiteNaming {
            ClosureSiteNaming { stackID, _ in
                StackNames(frames: [
                    FrameName(function: "malloc", modulePath: "/usr/lib/libc.so.6", isRuntime: true),
                    FrameName(function: "zmalloc(unsigned long)", file: "/src/zmalloc.c", line: 5, isWrapper: seesThrough),
                    FrameName(function: stackID == 1 ? "createClient(int)" : "processBatch(int)", file: "/src/server.c",
                              line: Int(stackID) * 10),
                ])
            }
        }
        let whole = LeakRanker.ranking(timeline: timeline, sites: [leaking, batch], names: naming(seesThrough: false))
        XCTAssertEqual(whole.sites.map(\.site), ["zmalloc"])
        XCTAssertNotEqual(whole.sites.first?.verdict, .growing, "the wrapper's total is a sawtooth")
        let perCaller = LeakRanker.ranking(timeline: timeline, sites: [leaking, batch], names: naming(seesThrough: true))
        XCTAssertEqual(perCaller.sites.map(\.site), ["createClient (via zmalloc)", "processBatch (via zmalloc)"])
        XCTAssertEqual(perCaller.sites.first?.verdict, .growing)
        XCTAssertEqual(perCaller.sites.first?.location, "server.c:10")
        XCTAssertNotEqual(perCaller.sites.last?.verdict, .growing)
    }
}
