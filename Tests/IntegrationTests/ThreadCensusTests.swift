// Threads that pile up: Tests/Fixtures/threads_pileup.c runs under the real shim, and the
// census `swheap report --json` reads back (counts and stack bytes per creation site) must be
// what the fixture knows of its own threads; the verdicts must tell the pile-ups from a pool.

import Foundation
import SwHeapStore
import SwHeapTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

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
        try XCTUnwrap(try reportProcesses(dumps).first)
    }

    private func reportProcesses(_ dumps: URL) throws -> [[String: Any]] {
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--json"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return try XCTUnwrap(document["processes"] as? [[String: Any]])
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
        XCTAssertEqual(expected.count, 5, result.stdout)

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
        XCTAssertEqual(bySite["site_cancelled"]?["verdict"] as? String, "stable")
        // A failed pthread_create returns its error and records nothing.
        XCTAssertTrue(result.stdout.contains("create_fails=EAGAIN"), result.stdout)
        XCTAssertNil(bySite["site_create_fails"], "a failed creation is not a site")

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

    /// A forked child starts with one thread (the forking one, before its profiling) and a
    /// census of its own: none of the parent's threads.
    func testAForkedChildHasACensusOfItsOwn() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("threads_pileup.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, _) = try Harness.profile(exe, ["fork"], dumps: dumps, rate: 524_288, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        let expected = expectations(result.stdout)
        let processes = try reportProcesses(dumps)
        XCTAssertEqual(processes.count, 2)
        let child = try XCTUnwrap(processes.first { p in processes.contains { ($0["pid"] as? Int) == (p["parent_pid"] as? Int) } })
        let parent = try XCTUnwrap(processes.first { ($0["pid"] as? Int) == (child["parent_pid"] as? Int) })

        let childThreads = try XCTUnwrap(child["threads"] as? [String: Any])
        let childSites = try sites(childThreads)
        XCTAssertEqual(number(childThreads["before_profiling"]), 1)
        XCTAssertNil(childSites["site_serve_request"], "the parent's threads are not the child's")
        let task = try XCTUnwrap(childSites["site_start_task"], "\(childSites.keys.sorted())")
        let want = try XCTUnwrap(expected["child:site_start_task"])
        XCTAssertEqual(number(task["exited_unjoined"]), want["exited_unjoined"])
        XCTAssertEqual(number(task["stack_bytes"]), want["stack_bytes"])
        XCTAssertEqual(number(childThreads["running"]), 1, "the forking thread, counted before profiling")

        let parentSites = try sites(try XCTUnwrap(parent["threads"] as? [String: Any]))
        let serve = try XCTUnwrap(parentSites["site_serve_request"])
        XCTAssertEqual(number(serve["running"]), expected["parent:site_serve_request"]?["running"])
        XCTAssertEqual(number(serve["stack_bytes"]), expected["parent:site_serve_request"]?["stack_bytes"])
        XCTAssertNil(parentSites["site_start_task"])
    }

    /// `swheap pprof --type threads` is a threadcreate-like profile `go tool pprof` reads, naming
    /// the creating functions; `swheap serve` serves it and the thread gauges.
    func testThreadsProfileAndServedMetrics() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("threads_pileup.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, _) = try Harness.profile(exe, ["pileup", "6"], dumps: dumps, rate: 524_288, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)

        let profile = dir.appendingPathComponent("threads.pb.gz")
        let written = try Harness.run(Harness.swheap, ["pprof", dumps.path, "--type", "threads", "-o", profile.path], environment: [:])
        XCTAssertEqual(written.status, 0, written.stderr)

        try Harness.requireTools(["curl"])
        let serve = try Harness.startServe(dumps.path)
        let servePort = serve.port
        let metrics = try ProgramRunner.output("curl", ["-sf", "http://127.0.0.1:\(servePort)/metrics"])
        let unjoined = metrics.split(separator: "\n").first { $0.hasPrefix("swheap_threads{") && $0.contains(#"state="exited_unjoined""#) }
        XCTAssertEqual(unjoined?.split(separator: " ").last.flatMap { Double($0) }, 6, metrics)
        XCTAssertTrue(metrics.contains(#"swheap_site_threads{"#) && metrics.contains(#"site="site_serve_request""#), metrics)
        let served = dir.appendingPathComponent("served.pb.gz")
        _ = try ProgramRunner.output("curl", ["-sf", "-o", served.path, "http://127.0.0.1:\(servePort)/debug/pprof/threadcreate"])

        // A real Prometheus scrapes the gauges.
        if ProgramRunner.exists("prometheus") {
            let (prometheus, queryURL) = try RealPrometheus.start(scraping: servePort, in: dir)
            let query = queryURL + "swheap_threads%7Bstate%3D%22exited_unjoined%22%7D"
            var scraped: Double?
            for _ in 0..<120 where scraped == nil {
                if let json = try? ProgramRunner.output("curl", ["-sf", query]),
                   let body = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                   let result = (body["data"] as? [String: Any])?["result"] as? [[String: Any]],
                   let value = (result.first?["value"] as? [Any])?.last as? String {
                    scraped = Double(value)
                } else { usleep(500_000) }
            }
            XCTAssertEqual(scraped, 6, "Prometheus's view of swheap_threads{state=\"exited_unjoined\"}")
            _ = prometheus
        } else {
            print("SKIPPED: prometheus is not installed (scripts/deps test installs it): no real scrape")
        }

        try Harness.requireGo()
        for file in [profile, served] {
            let top = try Harness.goToolPprof(["-top", file.path])
            XCTAssertTrue(top.contains("site_serve_request") && top.contains("site_start_task"), top)
        }
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
