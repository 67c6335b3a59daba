// A small smoke run of scripts/accuracy's program under the real preload and the real CLI,
// at the default rate: the big leaks (20x and 50x the rate: about 20 and 50 samples over 24
// epochs) are called growing, nothing bounded is, and no site gets a bounded verdict on
// fewer samples than it needs. The full measurement is scripts/accuracy (docs/ACCURACY.md).

import Foundation
import XCTest

final class AccuracySmokeTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    struct Site: Decodable {
        var site: String
        var verdict: String
        var samples: Double?
    }
    struct Process: Decodable { var suspects: [Site] }
    struct Report: Decodable { var processes: [Process] }

    func testDefaultRateVerdictsOnTheAccuracyProgram() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("accuracy.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let rate: UInt64 = 512 * 1024
        let (result, _) = try Harness.profile(exe, ["24", "50", String(rate), "1"], dumps: dumps, rate: rate, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try Harness.run(Harness.swheap, ["report", dumps.path, "--json", "--all", "--top", "1000"], environment: [:])
        XCTAssertEqual(json.status, 0, json.stderr)
        let sites = try XCTUnwrap(JSONDecoder().decode(Report.self, from: Data(json.stdout.utf8)).processes.first).suspects
        let summary = sites.map { "\($0.verdict) \($0.site) (\($0.samples ?? 0) samples)" }.joined(separator: "\n")
        let verdicts = Dictionary(sites.map { ($0.site, $0.verdict) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(verdicts["leak_50x"], "growing", summary)
        XCTAssertEqual(verdicts["leak_20x"], "growing", summary)
        for bounded in ["cache_put", "batch_fill", "startup_table", "churn"] {
            XCTAssertNotEqual(verdicts[bounded], "growing", "\(bounded):\n\(summary)")
        }
        for site in sites where ["plateau", "stable", "sawtooth"].contains(site.verdict) {
            XCTAssertGreaterThanOrEqual(site.samples ?? .infinity, 8, "\(site.site):\n\(summary)")
        }
    }
}
