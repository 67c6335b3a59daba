// Allocation wrappers end to end: a server whose every allocation goes through its own
// `zmalloc` (and `zstrdup` over it), with one leaking caller beside a sawtooth batch and key
// churn, run under the real preload. The report must see through the wrappers without being
// told (the leaking caller is the growing site, named with its wrapper; the batch is not), and
// the wrappers the user names must work the same way from the flag, the environment and the
// suppressions file. `swheap diff` lists each site once.

import Foundation
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class WrapperTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    struct Suspect: Decodable {
        var rank: Int
        var site: String
        var verdict: String
    }
    struct Process: Decodable { var suspects: [Suspect] }
    struct Report: Decodable { var processes: [Process] }

    /// One profiled run of Tests/Fixtures/wrapped.c, shared by the tests (it takes seconds).
    nonisolated(unsafe) private static var run: (dir: URL, dumps: URL, store: HeapStore)?

    private func profiled() throws -> (dir: URL, dumps: URL, store: HeapStore) {
        if let run = Self.run { return run }
        let dir = try Harness.scratch("WrapperTests")
        let exe = try Harness.compile("wrapped.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, store) = try Harness.profile(exe, ["40", "25"], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        Self.run = (dir, dumps, store)
        return (dir, dumps, store)
    }

    private func report(_ arguments: [String], environment: [String: String] = [:]) throws -> [Suspect] {
        let (_, dumps, _) = try profiled()
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--json", "--top", "50"] + arguments,
                                     environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        return try XCTUnwrap(report.processes.first).suspects.sorted { $0.rank < $1.rank }
    }

    private func summary(_ suspects: [Suspect]) -> String {
        suspects.map { "\($0.rank) \($0.verdict) \($0.site)" }.joined(separator: "\n")
    }

    /// The premise: through the wrapper as a whole the heap is a sawtooth, so a site named
    /// after the wrapper could not be called growing.
    func testTheFixtureHidesItsLeakInASawtooth() throws {
        let process = try XCTUnwrap(try profiled().store.processes.first)
        let totals = process.epochs.indices.map { epoch in process.sites.reduce(0) { $0 + $1.liveBytes[epoch] } }
        let drops = zip(totals, totals.dropFirst()).filter { $0 - $1 > 150_000 }.count
        XCTAssertGreaterThanOrEqual(drops, 4, "the batch is released every 5 steps: \(totals)")
    }

    func testTheLeakingCallerIsFoundThroughTheWrappersUnnamed() throws {
        let suspects = try report([])
        let text = summary(suspects)
        let top = try XCTUnwrap(suspects.first, text)
        XCTAssertTrue(top.site.hasPrefix("createClient (via z"), "the leaking caller ranks first:\n\(text)")
        XCTAssertEqual(top.verdict, "growing", text)
        let growing = Set(suspects.filter { $0.verdict == "growing" }.map(\.site))
        XCTAssertTrue(growing.contains("createClient (via zmalloc)"), text)
        XCTAssertTrue(growing.contains("createClient (via zstrdup)"), "zstrdup is seen through too:\n\(text)")
        for site in growing {
            XCTAssertTrue(site.hasPrefix("createClient"), "only the leak grows, not \(site):\n\(text)")
        }
        XCTAssertFalse(suspects.contains { $0.site == "zmalloc" || $0.site == "zstrdup" || $0.site.hasPrefix("zmalloc (") },
                       "a wrapper is never the site:\n\(text)")
    }

    func testWrappersNamedByFlagEnvironmentAndSuppressionsFile() throws {
        let (dir, _, _) = try profiled()
        let file = dir.appendingPathComponent("app.supp")
        try "# the client constructor is a wrapper too\nwrapper:createClient\n".write(to: file, atomically: true, encoding: .utf8)
        for (arguments, environment) in [(["--wrapper", "createClient"], [:]),
                                         ([], ["SWHEAP_WRAPPERS": "someOther,createClient"]),
                                         (["--suppressions", file.path], [String: String]())] {
            let suspects = try report(arguments, environment: environment)
            let text = summary(suspects)
            XCTAssertEqual(suspects.first?.site, "main (via createClient)", "\(arguments) \(environment):\n\(text)")
            XCTAssertEqual(suspects.first?.verdict, "growing", text)
        }
    }

    func testDiffListsEachSiteOnce() throws {
        let (_, dumps, _) = try profiled()
        let result = try Harness.run(Harness.swheap, ["diff", dumps.path, "--from", "2", "--top", "100"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        // Columns are padded: "site" in the header marks where the site and "where" start.
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(lines.first { $0.contains(" site ") }, result.stdout)
        let column = header.distance(from: header.startIndex, to: header.range(of: " site ")!.lowerBound) + 1
        let rows = lines.drop { $0 != header }.dropFirst().filter { $0.count > column && !$0.hasPrefix("(") }.map {
            String($0.dropFirst(column)).trimmingCharacters(in: .whitespaces)
        }
        XCTAssertGreaterThanOrEqual(rows.count, 4, result.stdout)
        XCTAssertEqual(rows.count, Set(rows).count, "no two rows read the same:\n\(result.stdout)")
        XCTAssertTrue(result.stdout.contains("createClient (via zmalloc)"), result.stdout)
    }
    /// The HTML report, drawn by a real browser: each site row names its site and location, and
    /// no two rows read the same (two call sites of one function through one wrapper included).
    func testHTMLRowsReadDifferently() throws {
        guard ProgramRunner.exists("chromium") else {
            print("SKIPPED: chromium is not installed (scripts/deps test installs it)")
            throw XCTSkip("chromium is not installed")
        }
        let (dir, dumps, _) = try profiled()
        let page = dir.appendingPathComponent("report.html")
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--html", page.path, "--all"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let browser = try Harness.run("chromium", ["--headless", "--no-sandbox", "--disable-gpu",
                                                   "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
                                                   "--dump-dom", page.absoluteString], environment: [:], timeout: 120)
        XCTAssertEqual(browser.status, 0, browser.stderr)
        let row = try NSRegularExpression(pattern: #"<tr class="finding[^"]*"[^>]*><td class="n">\d+</td><td[^>]*>[^<]*</td><td>([^<]*)</td>"#)
        let dom = browser.stdout
        let sites = row.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)).map { match in
            String(dom[Range(match.range(at: 1), in: dom)!])
        }
        XCTAssertGreaterThanOrEqual(sites.count, 5, "the findings table is drawn")
        XCTAssertEqual(sites.count, Set(sites).count, "no two rows read the same:\n\(sites.joined(separator: "\n"))")
        XCTAssertTrue(sites.contains { $0.hasPrefix("createClient (via zmalloc) (wrapped.c:") }, sites.joined(separator: "\n"))
    }
}
