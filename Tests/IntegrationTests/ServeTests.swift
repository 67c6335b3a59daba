// `swheap serve` while a leaking fixture is still running: a real Prometheus (Debian's
// `prometheus`, on loopback) scrapes /metrics, and its query API must show the growing site's
// live bytes rising; the served pprof and HTML page name the same site.

import Foundation
import SwHeapTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class ServeTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    func testPrometheusSeesTheLeakGrowWhileTheProgramRuns() throws {
        try Harness.requireTools(["prometheus", "curl"])
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        // 600 steps of 50 ms: 30 s of a steady leak, a dump every 0.3 s.
        let program = try ProgramRunner.start(exe, ["600", "50"], environment: ProgramRunner.environment(
            ["SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.3", "SWHEAP_DIR": dumps.path], preload: Harness.shim))
        let serve = try Harness.startServe(dumps.path)
        let servePort = serve.port
        let (prometheus, queryURL) = try RealPrometheus.start(scraping: servePort, in: dir)
        _ = prometheus

        // The leak's series, as Prometheus stored it, must rise between two queries.
        var seen: [Double] = []
        let query = queryURL +
            "swheap_site_live_bytes%7Bsite%3D%22site_leak%22%7D"
        let rose = try Harness.waitFor("Prometheus to see site_leak grow (values so far: \(seen))", seconds: 60) { () -> Bool? in
            guard let json = try? ProgramRunner.output("curl", ["-sf", query]),
                  let data = json.data(using: .utf8),
                  let body = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let result = (body["data"] as? [String: Any])?["result"] as? [[String: Any]],
                  let value = (result.first?["value"] as? [Any])?.last as? String, let bytes = Double(value)
            else { return nil }
            if seen.last != bytes { seen.append(bytes) }
            return seen.count >= 3 && seen.last! > seen.first! ? true : nil
        }
        XCTAssertTrue(rose)
        XCTAssertTrue(program.isRunning, "the fixture was still running while Prometheus watched")
        let labels = try ProgramRunner.output("curl", ["-sf", "http://127.0.0.1:\(servePort)/metrics"])
        XCTAssertTrue(labels.contains(#"verdict="growing""#) && labels.contains(#"site="site_leak""#), labels)
        // The memory picture: RSS and glibc's own figures, and the memory verdict.
        for name in ["swheap_rss_bytes{", "swheap_anon_bytes{", "swheap_allocator_in_use_bytes{", "swheap_allocator_free_bytes{",
                     "swheap_allocator_held_bytes{", "swheap_allocator_arenas{", "swheap_memory_verdict{"] {
            XCTAssertTrue(labels.contains(name), "\(name) missing: \(labels)")
        }
        XCTAssertTrue(labels.contains(#"allocator="glibc""#), labels)

        // The same site in the served pprof and HTML page.
        let profile = dir.appendingPathComponent("served.pb.gz")
        _ = try ProgramRunner.output("curl", ["-sf", "-o", profile.path, "http://127.0.0.1:\(servePort)/debug/pprof/heap"])
        try Harness.requireGo()
        let top = try Harness.goToolPprof(["-top", profile.path])
        XCTAssertTrue(top.contains("site_leak"), top)
        let page = try ProgramRunner.output("curl", ["-sf", "http://127.0.0.1:\(servePort)/"])
        XCTAssertTrue(page.contains("<!DOCTYPE html>") && page.contains("site_leak"), String(page.prefix(300)))
        XCTAssertTrue(page.contains(#""name":"allocator holds""#), "the memory chart's data")
    }

    /// A site's verdict changes while Prometheus watches (too-few-epochs, then growing): its
    /// live-bytes series must stay one series (labels pid, command and site only), while the
    /// verdict is its own series that moves from one verdict label to the next.
    func testAVerdictChangeKeepsOneSeriesPerSite() throws {
        try Harness.requireTools(["prometheus", "curl"])
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        try FileManager.default.createDirectory(atPath: dumps.path, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        let serve = try Harness.startServe(dumps.path)
        let servePort = serve.port
        let (prometheus, queryURL) = try RealPrometheus.start(scraping: servePort, in: dir)
        _ = prometheus
        let api = queryURL
        func results(_ query: String) -> [[String: Any]]? {
            guard let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics),
                  let json = try? ProgramRunner.output("curl", ["-sf", api + encoded]),
                  let body = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
            return (body["data"] as? [String: Any])?["result"] as? [[String: Any]]
        }
        // Prometheus scrapes the (still empty) directory before the program starts, so it sees
        // the site from its first verdict on.
        _ = try Harness.waitFor("Prometheus to scrape swheap serve", seconds: 60) { () -> Bool? in
            (results(#"up{job="swheap"}"#)?.isEmpty == false) ? true : nil
        }
        // 240 steps of 50 ms: 12 s of a steady leak, a dump every 0.5 s (8 epochs take 4 s).
        let program = try ProgramRunner.start(exe, ["240", "50"], environment: ProgramRunner.environment(
            ["SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.5", "SWHEAP_DIR": dumps.path], preload: Harness.shim))
        var verdicts: Set<String> = []
        _ = try Harness.waitFor("the verdict on site_leak to change to growing (seen: \(verdicts))", seconds: 90) { () -> Bool? in
            let seen = results(#"last_over_time(swheap_site_verdict{site="site_leak"}[10m])"#) ?? []
            verdicts = Set(seen.compactMap { ($0["metric"] as? [String: String])?["verdict"] })
            return verdicts.count >= 2 && verdicts.contains("growing") ? true : nil
        }
        let series = try XCTUnwrap(results(#"last_over_time(swheap_site_live_bytes{site="site_leak"}[10m])"#))
        XCTAssertEqual(series.count, 1, "one live-bytes series across the verdicts \(verdicts): \(series)")
        let labels = try XCTUnwrap(series.first?["metric"] as? [String: String])
        XCTAssertEqual(Set(labels.keys), ["__name__", "pid", "command", "site", "job", "instance"])
        XCTAssertEqual(try XCTUnwrap(results(#"last_over_time(swheap_site_growth_bytes_per_second{site="site_leak"}[10m])"#)).count, 1)
        // Now: exactly one verdict series for the site, and no rank anywhere.
        XCTAssertEqual(results(#"swheap_site_verdict{site="site_leak"}"#)?.count, 1)
        let metrics = try ProgramRunner.output("curl", ["-sf", "http://127.0.0.1:\(servePort)/metrics"])
        XCTAssertFalse(metrics.contains("rank="), metrics)
        XCTAssertTrue(metrics.contains(#"swheap_site_verdict{"#) && metrics.contains(#"verdict="growing""#), metrics)
        _ = try program.wait()
    }

    /// A long timeline (a synthesised service of 3,000 epochs). The served profile has the
    /// samples `swheap pprof DIR` writes; it had a row per site and dump interval (10 MB gzipped
    /// on 16 days of the fast-motion service). And building the served state frees much
    /// more than it keeps: a server that stays up must give that back, not sit at its peak
    /// (glibc keeps freed memory in the arenas of the threads that decoded it); without the
    /// trim, RSS after the first request equals the peak, with it about two thirds.
    func testLongTimelineServesWhatPprofWritesAndGivesMemoryBack() throws {
        try Harness.requireTools(["curl"])
        let dir = try Harness.scratch()
        let dumps = dir.appendingPathComponent("dumps")
        let synth = try Harness.run(Harness.swheap, ["synth", "--service", "--epochs", "3000", "--stacks", "7000",
                                                     "--depth", "20", dumps.path], environment: [:])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        let serve = try Harness.startServe(dumps.path)
        let served = dir.appendingPathComponent("served.pb.gz"), written = dir.appendingPathComponent("written.pb.gz")
        _ = try ProgramRunner.output("curl", ["-sf", "-o", served.path, "http://127.0.0.1:\(serve.port)/debug/pprof/heap"])
        let status = try String(contentsOfFile: "/proc/\(serve.server.pid)/status", encoding: .utf8)
        func kib(_ field: String) throws -> Double {
            let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix(field + ":") })
            return try XCTUnwrap(Double(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        }
        let rss = try kib("VmRSS"), peak = try kib("VmHWM")
        XCTAssertLessThan(rss, 0.85 * peak, "RSS \(rss) KiB after the snapshot, peak \(peak) KiB")

        let pprof = try Harness.run(Harness.swheap, ["pprof", dumps.path, "-o", written.path], environment: [:])
        XCTAssertEqual(pprof.status, 0, pprof.stderr)
        // The same samples, as go tool pprof reads them (the served profile may map more
        // modules: it knows those that earlier epochs listed).
        try Harness.requireGo()
        func samples(_ profile: URL) throws -> Substring {
            let raw = try Harness.goToolPprof(["-raw", profile.path])
            let start = try XCTUnwrap(raw.range(of: "Samples:")), end = try XCTUnwrap(raw.range(of: "Locations"))
            return raw[start.lowerBound..<end.lowerBound]
        }
        let servedSamples = try samples(served)
        XCTAssertGreaterThan(servedSamples.count, 1000)
        XCTAssertEqual(servedSamples, try samples(written), "served and written profiles have different samples")
    }
}
