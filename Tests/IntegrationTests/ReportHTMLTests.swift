// `swheap report --html` on real dumps of a leaking fixture, rendered by a real browser
// (headless Chromium): the chart and the findings table are drawn, no script fails, the page
// loads nothing from outside, and the leak's site is in the table, the chart and the flame graph.

import Foundation
import SwHeapTestSupport
import XCTest

final class ReportHTMLTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    func testBrowserDrawsChartTableAndFlameGraphWithoutScriptErrors() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (run, _) = try Harness.profile(exe, ["40", "20"], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(run.status, 0, run.stderr)
        let page = dir.appendingPathComponent("report.html")
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--html", page.path], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("wrote \(page.path)"), result.stdout)

        let html = try String(contentsOf: page, encoding: .utf8)
        for external in ["src=\"http", "href=\"http", "@import", "url(http", "<link"] {
            XCTAssertFalse(html.contains(external), "the page loads nothing from outside: found \(external)")
        }
        XCTAssertTrue(html.contains(#"data-n=\"site_leak\""#), "the flame graph holds the leak's frame")

        let dom = try renderedDOM(page, in: dir)
        XCTAssertTrue(dom.contains(#"data-drawn="1""#), "the script ran to the end")
        let rows = dom.components(separatedBy: #"<tr class="finding""#).count - 1
        XCTAssertGreaterThanOrEqual(rows, 1, "the findings table is drawn")
        XCTAssertTrue(dom.contains(#"<tr class="finding" data-site="site_leak">"#), "the leak is a finding")
        XCTAssertTrue(dom.contains(#"class="v-growing">growing<"#), "with its verdict")
        XCTAssertTrue(dom.contains(#"data-name="total live heap""#), "the chart draws the total")
        XCTAssertTrue(dom.contains(##"data-name="#1 site_leak""##), "and the top finding")
        XCTAssertTrue(dom.contains(#"class="sparkline""#), "sparklines are drawn")
        XCTAssertTrue(dom.contains(#"<iframe class="flame""#), "the flame graph is embedded")
        // The memory block: its verdict, and RSS, what glibc holds, its bytes in use and the
        // sampled heap on one chart.
        XCTAssertTrue(dom.contains(#"<div class="memory" data-verdict=""#), "the memory verdict is drawn")
        for line in ["RSS", "allocator holds", "allocator in use", "sampled live heap"] {
            XCTAssertTrue(dom.contains(#"data-name="\#(line)""#), "the memory chart draws \(line)")
        }
    }

    /// A Swift retain cycle at the default rate (as ReportScenarioTests): the page names the
    /// function that makes the cycle as a leak root, its member sites under it, in the list, the
    /// table and the chart.
    func testLeakRootsAreShownWithTheirMemberSites() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compileSwift("cycles.swift", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (run, _) = try Harness.profile(exe, ["16", "200", "2000"], dumps: dumps, rate: 512 * 1024, interval: 0.25)
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try Harness.run(Harness.swheap, ["report", dumps.path, "--json"], environment: [:])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertTrue(json.stdout.contains(#""caller" : "cycles.makeCycle""#), "the report finds the root:\n\(json.stdout)")
        let page = dir.appendingPathComponent("report.html")
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--html", page.path], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let html = try String(contentsOf: page, encoding: .utf8)
        XCTAssertTrue(html.contains(#""caller":"cycles.makeCycle""#), "the page's data carries the root")

        let dom = try renderedDOM(page, in: dir)
        XCTAssertTrue(dom.contains(#"<tr class="root" data-caller="cycles.makeCycle">"#), "a root row in the table")
        let members = dom.components(separatedBy: #"data-root="R1""#).count - 1
        XCTAssertGreaterThanOrEqual(members, 2, "its member sites follow it")
        XCTAssertTrue(dom.contains("R1 cycles.makeCycle: "), "the root's headline is listed")
        XCTAssertTrue(dom.contains(#"data-name="R1 cycles.makeCycle""#), "the chart draws the root")
    }

    /// Threads that pile up (Tests/Fixtures/threads_pileup.c): the page charts the threads each
    /// creation site holds and lists the sites with their verdicts.
    func testThreadsAreChartedAndListed() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("threads_pileup.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (run, _) = try Harness.profile(exe, ["pileup", "12"], dumps: dumps, rate: 524_288, interval: 0.05)
        XCTAssertEqual(run.status, 0, run.stderr)
        let page = dir.appendingPathComponent("report.html")
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--html", page.path], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let dom = try renderedDOM(page, in: dir)
        XCTAssertTrue(dom.contains(#"data-name="all threads held""#), "the threads chart draws the total")
        XCTAssertTrue(dom.contains(#"data-name="site_serve_request""#), "and the pile-up")
        XCTAssertTrue(dom.contains(#"<tr class="thread-site" data-site="site_start_task">"#), "the never-joined site is listed")
        XCTAssertTrue(dom.contains(#"class="v-growing">growing<"#), "with its verdict")
        XCTAssertTrue(dom.contains("never joined: 12 stacks"), "and what it holds")
    }

    /// The page as headless Chromium drew it, after checking that no script failed; skips when
    /// Chromium is missing (scripts/deps test installs it).
    private func renderedDOM(_ page: URL, in dir: URL) throws -> String {
        guard ProgramRunner.exists("chromium") else {
            print("SKIPPED: chromium is not installed (scripts/deps test installs it)")
            throw XCTSkip("chromium is not installed")
        }
        let browser = try Harness.run("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                                                   "--v=0", "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
                                                   "--dump-dom", page.absoluteString], environment: [:], timeout: 120)
        XCTAssertEqual(browser.status, 0, browser.stderr)
        let consoleErrors = browser.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        XCTAssertEqual(consoleErrors, [], "no script errors")
        XCTAssertTrue(browser.stdout.contains(#"data-drawn=""#), "the script ran to the end")
        return browser.stdout
    }
}
