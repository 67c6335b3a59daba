// Threads that pile up: Tests/Fixtures/threads_pileup.c runs under the real shim, and the
// census `swheap report --json` reads back (counts and stack bytes per creation site) must be
// what the fixture knows of its own threads; the verdicts must tell the pile-ups from a pool.

import Foundation
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ThreadCensusTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    /// "expect <site> running=R exited_unjoined=U gone=G stack_bytes=B" lines of the fixture.
    private func expectations(_ stdout: String) -> [String: [String: UInt64]] {
        var result: [String: [String: UInt64]] = [:]
        for line in stdout.split(separator: "\n") where line.hasPrefix("expect ") {
            let parts = line.split(separator: " ")
            var fields: [String: UInt64] = [:]
            for part in parts.dropFirst(2) {
                let kv = part.split(separator: "=")
                if kv.count == 2, let value = UInt64(kv[1]) { fields[String(kv[0])] = value }
            }
            result[String(parts[1])] = fields
        }
        return result
    }

    private func reportJSON(_ dumps: URL) throws -> [String: Any] {
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--json"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let processes = try XCTUnwrap(document["processes"] as? [[String: Any]])
        return try XCTUnwrap(processes.first)
    }

    private func sites(_ threads: [String: Any]) throws -> [String: [String: Any]] {
        let list = try XCTUnwrap(threads["sites"] as? [[String: Any]])
        return Dictionary(list.map { ($0["site"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    private func number(_ value: Any?) -> UInt64? { (value as? NSNumber)?.uint64Value }

    func testPileUpsAreGrowingAndCountedExactlyAndAPoolIsNot() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("threads_pileup.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let ticks = 16
        let (result, store) = try Harness.profile(exe, ["pileup", String(ticks)], dumps: dumps, rate: 524_288, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        let expected = expectations(result.stdout)
        XCTAssertEqual(expected.count, 4, result.stdout)

        // The fixture's output is its own: the same with and without the shim.
        let plain = try Harness.run(exe, ["pileup", String(ticks)], environment: [:])
        XCTAssertEqual(plain.stdout, result.stdout)

        let process = try XCTUnwrap(store.processes.first)
        XCTAssertTrue(process.hasThreadCensus)
        XCTAssertGreaterThanOrEqual(process.epochs.count, 8, "enough epochs for a trend")

        let json = try reportJSON(dumps)
        let threads = try XCTUnwrap(json["threads"] as? [String: Any], "threads in the JSON")
        let bySite = try sites(threads)
        for (site, want) in expected {
            let got = try XCTUnwrap(bySite[site], "\(site) among \(bySite.keys.sorted())")
            for key in ["running", "exited_unjoined", "gone", "stack_bytes"] {
                XCTAssertEqual(number(got[key]), want[key], "\(site) \(key)")
            }
        }
        XCTAssertEqual(bySite["site_serve_request"]?["verdict"] as? String, "growing", "\(bySite["site_serve_request"] ?? [:])")
        XCTAssertEqual(bySite["site_start_task"]?["verdict"] as? String, "growing", "\(bySite["site_start_task"] ?? [:])")
        let unjoinedReason = try XCTUnwrap(bySite["site_start_task"]?["reason"] as? String)
        XCTAssertTrue(unjoinedReason.contains("never joined: \(ticks) stacks"), unjoinedReason)
        XCTAssertTrue(unjoinedReason.contains("pthread_join"), unjoinedReason)
        let pool = try XCTUnwrap(bySite["site_start_pool"]?["verdict"] as? String)
        XCTAssertTrue(["plateau", "stable"].contains(pool), "a pool that fills and stays is not growing: \(pool)")
        XCTAssertEqual(bySite["site_fire_and_forget"]?["verdict"] as? String, "stable")

        // Process totals: every site's threads plus the main thread (before profiling).
        let running = expected.values.reduce(0) { $0 + ($1["running"] ?? 0) }
        let unjoined = expected.values.reduce(0) { $0 + ($1["exited_unjoined"] ?? 0) }
        let bytes = expected.values.reduce(0) { $0 + ($1["stack_bytes"] ?? 0) }
        XCTAssertEqual(number(threads["running"]), running + 1)
        XCTAssertEqual(number(threads["exited_unjoined"]), unjoined)
        XCTAssertEqual(number(threads["stack_bytes"]), bytes)
        XCTAssertEqual(number(threads["before_profiling"]), 1)
        XCTAssertEqual(number(bySite["(before profiling)"]?["running"]), 1)

        // The timeline: one entry per epoch, the last one the totals.
        let timeline = try XCTUnwrap(threads["timeline"] as? [[String: Any]])
        XCTAssertEqual(timeline.count, process.epochs.count)
        XCTAssertEqual(number(timeline.last?["running"]), running + 1)
        XCTAssertEqual(number(timeline.last?["exited_unjoined"]), unjoined)

        // The text report's Threads block names the pile-ups and says what to do.
        let text = try Harness.run(Harness.swheap, ["report", dumps.path], environment: [:])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("Threads"), text.stdout)
        XCTAssertTrue(text.stdout.contains("site_serve_request"), text.stdout)
        XCTAssertTrue(text.stdout.contains("never joined"), text.stdout)
    }

    /// Short threads, each joined: nothing held, every one counted gone, and the census's
    /// memory (gone threads are counts, their records reused) stays flat.
    func testShortJoinedThreadsStayBounded() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("threads_pileup.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let n = 20_000
        let (result, _) = try Harness.profile(exe, ["short", String(n)], dumps: dumps, rate: 524_288, interval: 0.1)
        XCTAssertEqual(result.status, 0, result.stderr)
        let rss = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.hasPrefix("rss_kib") })
        let figures = rss.split(separator: " ").compactMap { Int($0) }
        XCTAssertEqual(figures.count, 2, String(rss))
        XCTAssertLessThan(figures[1] - figures[0], 1024, "RSS grew by more than 1 MiB over \(n) threads: \(rss)")

        let json = try reportJSON(dumps)
        let threads = try XCTUnwrap(json["threads"] as? [String: Any])
        let site = try XCTUnwrap(try sites(threads)["site_short_task"])
        XCTAssertEqual(number(site["gone"]), UInt64(n))
        XCTAssertEqual(number(site["running"]), 0)
        XCTAssertEqual(number(site["exited_unjoined"]), 0)
        XCTAssertEqual(number(site["stack_bytes"]), 0)
        XCTAssertEqual(site["verdict"] as? String, "stable")
        XCTAssertEqual(number(threads["exited_unjoined"]), 0)
    }
}
