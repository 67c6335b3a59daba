import Foundation
import XCTest
import SwHeapDump
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapSymbols
@testable import SwHeapTestSupport

final class ReportJSONTests: XCTestCase {
    func report(scanned: Bool = true) -> ProcessReport {
        var (leak, timeline) = Scenario.steadyLeak.simulate()
        var (cache, _) = Scenario.boundedCache.simulate()
        cache.stackID = 2
        if scanned {
            var unreferenced = Array(leak.unreferencedBytes)
            unreferenced[unreferenced.count - 1] = 1_000_000
            leak.unreferencedBytes = EpochSeries(unreferenced)
            timeline.endsWithFinalDump = true
            timeline.lastEpochScanned = true
        }
        let names = ClosureSiteNaming { id, _ in
            StackNames(frames: [FrameName(function: "malloc", modulePath: "/lib/libc.so.6", isRuntime: true),
                                FrameName(function: id == 1 ? "leak_slowly(int)" : "Cache::put(int)", file: "app.c", line: 7)])
        }
        let ranking = LeakRanker.ranking(timeline: timeline, sites: [cache, leak], names: names)
        return ProcessReport(pid: 42, executable: "/bin/app", commandLine: ["/bin/app", "-x"], ranking: ranking)
    }

    func testSchemaKeysAndValues() throws {
        let text = ReportJSON.render([report()])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let process = try XCTUnwrap((object["processes"] as? [[String: Any]])?.first)
        XCTAssertEqual(process["pid"] as? Int, 42)
        XCTAssertEqual(process["command"] as? String, "/bin/app -x")
        XCTAssertEqual(process["epochs"] as? Int, 12)
        let suspects = try XCTUnwrap(process["suspects"] as? [[String: Any]])
        XCTAssertEqual(suspects.count, 2)
        let first = suspects[0]
        for key in ["rank", "site", "stack", "verdict", "score", "reason", "inuse_bytes", "growth_bytes_per_s",
                    "unreferenced_bytes", "referenced_bytes"] {
            XCTAssertNotNil(first[key], key)
        }
        XCTAssertEqual(first["rank"] as? Int, 1)
        XCTAssertEqual(first["site"] as? String, "leak_slowly")
        XCTAssertEqual(first["verdict"] as? String, "growing")
        XCTAssertEqual(first["stack"] as? [String], ["malloc (libc.so.6)", "leak_slowly(int) (app.c:7)"])
        XCTAssertEqual(first["inuse_bytes"] as? Int, 1_228_800)
        XCTAssertEqual(first["unreferenced_bytes"] as? Int, 1_000_000)
        XCTAssertEqual(first["referenced_bytes"] as? Int, 228_800)
        XCTAssertEqual(suspects[1]["verdict"] as? String, "plateau")
        XCTAssertEqual(suspects[1]["suspect"] as? Bool, false)
    }

    func testUnscannedFiguresAreNull() throws {
        let text = ReportJSON.render([report(scanned: false)])
        XCTAssertTrue(text.contains("\"unreferenced_bytes\" : null"), text)
        XCTAssertTrue(text.contains("no final dump"), text)
    }

    func testOutputIsReproducible() {
        XCTAssertEqual(ReportJSON.render([report()]), ReportJSON.render([report()]))
    }
}
