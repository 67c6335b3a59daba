// `swheap flamegraph` and `swheap diff` on real dumps of a leaking fixture under the real
// preload: exact values at rate 1, the leak as the widest tower of a growth graph, a graph
// that parses as XML and loads nothing from outside, and diffs read by `go tool pprof`.

import Foundation
import FoundationXML
import SwHeapTestSupport
import XCTest

final class FlameGraphTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    /// growing.c leaks 1000 bytes from site_leak per step and frees its churn.
    private func run(steps: Int, interval: Double = 0.05) throws -> URL {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, _) = try Harness.profile(exe, [String(steps), "20"], dumps: dumps, rate: 1, interval: interval)
        XCTAssertEqual(result.status, 0, result.stderr)
        return dumps
    }

    private func swheap(_ arguments: [String]) throws -> String {
        let result = try Harness.run(Harness.swheap, arguments, environment: [:])
        XCTAssertEqual(result.status, 0, "swheap \(arguments.joined(separator: " ")): \(result.stderr)")
        return result.stdout
    }

    /// "a;b;c 123" lines as (frames, values).
    private func folded(_ text: String) -> [(frames: [String], values: [Int64])] {
        text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ")
            let values = parts.reversed().prefix { Int64($0) != nil }.reversed().compactMap { Int64($0) }
            let stack = parts.dropLast(values.count).joined(separator: " ")
            return (stack.split(separator: ";").map(String.init), values)
        }
    }

    func testFoldedStacksCarryExactLiveBytesWithoutAllocatorFrames() throws {
        let dumps = try run(steps: 10, interval: 0)
        let lines = folded(try swheap(["flamegraph", dumps.path, "--folded", "-o", "-"]))
        let leak = try XCTUnwrap(lines.first { $0.frames.last == "site_leak" }, "\(lines)")
        XCTAssertEqual(leak.values, [10_000])
        XCTAssertTrue(leak.frames.contains("main"), "\(leak.frames)")
        XCTAssertFalse(lines.contains { $0.frames.contains { $0.contains("malloc") } }, "\(lines)")
        XCTAssertFalse(lines.contains { $0.frames.last == "site_churn" }, "churn is freed: nothing live")

        let objects = folded(try swheap(["flamegraph", dumps.path, "--folded", "--type", "inuse_objects", "-o", "-"]))
        XCTAssertEqual(objects.first { $0.frames.last == "site_leak" }?.values, [10])
        let allocated = folded(try swheap(["flamegraph", dumps.path, "--folded", "--type", "alloc_space", "-o", "-"]))
        XCTAssertEqual(allocated.first { $0.frames.last == "site_churn" }?.values, [40_000])
    }

    func testGrowthGraphMakesTheLeakTheWidestTower() throws {
        let dumps = try run(steps: 40)
        let epochs = try FileManager.default.contentsOfDirectory(atPath: dumps.path).filter { $0.hasSuffix(".swheap") }
        XCTAssertGreaterThan(epochs.count, 2, "the run needs periodic dumps")
        let diff = folded(try swheap(["flamegraph", dumps.path, "--from", "1", "--folded", "-o", "-"]))
        let leak = try XCTUnwrap(diff.first { $0.frames.last == "site_leak" }, "\(diff)")
        XCTAssertEqual(leak.values.count, 2, "before and after")
        XCTAssertGreaterThan(leak.values[1], leak.values[0])

        let svg = dumps.deletingLastPathComponent().appendingPathComponent("growth.svg")
        _ = try swheap(["flamegraph", dumps.path, "--from", "1", "-o", svg.path])
        let frames = try svgFrames(svg)
        let leaves = frames.filter { frame in !frames.contains { $0.depth == frame.depth + 1 && $0.x >= frame.x && $0.x < frame.x + frame.width } }
        let widest = try XCTUnwrap(leaves.max { $0.width < $1.width })
        XCTAssertEqual(widest.name, "site_leak", "\(leaves)")
        XCTAssertEqual(widest.width, 1, accuracy: 1e-6, "all growth is the leak's")
    }

    func testGraphIsSelfContainedXMLWithTheSuspectColoured() throws {
        let dumps = try run(steps: 30)
        let svg = dumps.deletingLastPathComponent().appendingPathComponent("flame.svg")
        let printed = try swheap(["flamegraph", dumps.path, "-o", svg.path])
        XCTAssertTrue(printed.hasPrefix("wrote \(svg.path)"), printed)
        let text = try String(contentsOf: svg, encoding: .utf8)
        XCTAssertTrue(text.contains("<script"), "interactive")
        for external in ["href=", "src=", "@import", "url("] {
            XCTAssertFalse(text.contains(external), "loads nothing from outside: found \(external)")
        }
        let frames = try svgFrames(svg)
        let leak = try XCTUnwrap(frames.first { $0.name == "site_leak" }, "\(frames.map(\.name))")
        XCTAssertEqual(leak.fill, "rgb(214,39,40)", "a growing site is red")
        XCTAssertNotEqual(frames.first { $0.name == "main" }?.fill, "rgb(214,39,40)")
        XCTAssertTrue(leak.info.hasSuffix("growing site"), leak.info)
    }

    /// The graph's script, run by a real browser: a link zooms into one frame (hiding frames
    /// outside it and widening it to the full width) and searches (highlight and share).
    func testBrowserZoomsAndSearches() throws {
        let dumps = try run(steps: 10, interval: 0)
        let svg = dumps.deletingLastPathComponent().appendingPathComponent("alloc.svg")
        _ = try swheap(["flamegraph", dumps.path, "--type", "alloc_space", "-o", svg.path])
        guard ProgramRunner.exists("chromium") else {
            print("SKIPPED: chromium is not installed (scripts/deps test installs it)")
            throw XCTSkip("chromium is not installed")
        }
        let browser = try Harness.run("chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
            "--user-data-dir=\(dumps.deletingLastPathComponent().appendingPathComponent("chromium").path)",
            "--dump-dom", svg.absoluteString + "#zoom=site_leak&search=site_churn"], environment: [:], timeout: 120)
        XCTAssertEqual(browser.status, 0, browser.stderr)
        XCTAssertEqual(browser.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") }, [], "no script errors")
        let dom = browser.stdout
        // churn allocates 4000 bytes a step and the leak 1000: exactly 80% of alloc_space.
        XCTAssertTrue(dom.contains("Matched: 80.0%"), String(dom.suffix(2000)))
        let leak = try XCTUnwrap(dom.range(of: #"<g class="f"[^>]*data-n="site_leak"[^>]*>.*?</g>"#, options: .regularExpression).map { String(dom[$0]) })
        XCTAssertFalse(leak.contains("display: none"), leak)
        XCTAssertTrue(leak.contains(#"width="1180.00""#), "zoomed to the full width: \(leak)")
        let churn = try XCTUnwrap(dom.range(of: #"<g class="f"[^>]*data-n="site_churn"[^>]*>"#, options: .regularExpression).map { String(dom[$0]) })
        XCTAssertTrue(churn.contains("display: none"), "outside the zoomed frame: \(churn)")
    }

    func testDiffOfTwoRunsMatchesSitesByName() throws {
        let short = try run(steps: 10, interval: 0), long = try run(steps: 30, interval: 0)
        let profile = long.deletingLastPathComponent().appendingPathComponent("diff.pb.gz")
        let table = try swheap(["diff", short.path, long.path, "--pprof", profile.path])
        let rows = table.split(separator: "\n").map(String.init)
        let top = try XCTUnwrap(rows.dropFirst(2).first, table)   // totals, header
        XCTAssertTrue(top.contains("site_leak") && top.contains("+20"), table)
        try Harness.requireGo()
        let pprof = try Harness.goToolPprof(["-top", "-sample_index=inuse_objects", profile.path])
        let line = try XCTUnwrap(pprof.split(separator: "\n").first { $0.hasSuffix("site_leak") }, pprof)
        XCTAssertTrue(line.trimmingCharacters(in: .whitespaces).hasPrefix("20 "), pprof)
    }

    func testDiffOfTwoEpochsAndItsErrors() throws {
        let dumps = try run(steps: 40)
        let table = try swheap(["diff", dumps.path, "--from", "1"])
        XCTAssertTrue(table.split(separator: "\n").dropFirst(2).first?.contains("site_leak") ?? false, table)
        let missing = try Harness.run(Harness.swheap, ["diff", dumps.path, "--from", "999"], environment: [:])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        let noFrom = try Harness.run(Harness.swheap, ["diff", dumps.path], environment: [:])
        XCTAssertNotEqual(noFrom.status, 0)
    }

    struct SVGFrame { var name: String; var info: String; var x: Double; var width: Double; var depth: Int; var fill: String }

    /// (FoundationXML on Linux finds no attribute by name in a document with a default namespace.)
    private func attribute(_ element: XMLElement, _ name: String) -> String? {
        element.attributes?.first { $0.name == name }?.stringValue
    }

    private func localName(_ element: XMLElement) -> String? {
        element.localName ?? element.name.map { String($0.split(separator: ":").last ?? "") }
    }

    /// The frames of a graph, read with an XML parser (which also proves the file well formed).
    private func svgFrames(_ url: URL) throws -> [SVGFrame] {
        let document = try XMLDocument(contentsOf: url, options: [])
        var groups: [XMLElement] = []
        func collect(_ element: XMLElement) {
            if localName(element) == "g" && attribute(element, "class") == "f" { groups.append(element) }
            for child in element.children ?? [] { if let child = child as? XMLElement { collect(child) } }
        }
        if let root = document.rootElement() { collect(root) }
        return groups.compactMap { g in
            guard let name = attribute(g, "data-n"), let x = attribute(g, "data-x"),
                  let w = attribute(g, "data-w"), let d = attribute(g, "data-d"),
                  let rect = g.children?.compactMap({ $0 as? XMLElement }).first(where: { localName($0) == "rect" }) else { return nil }
            return SVGFrame(name: name, info: attribute(g, "data-i") ?? "", x: Double(x) ?? -1,
                            width: Double(w) ?? -1, depth: Int(d) ?? -1, fill: attribute(rect, "fill") ?? "")
        }
    }
}
