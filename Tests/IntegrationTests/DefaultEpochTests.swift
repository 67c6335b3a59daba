// The epoch shown by default (ShownEpoch): a program that frees its whole heap at exit
// (teardown.c) leaves an almost empty final dump; pprof, the flame graph and the report show
// the heap as it was while it ran, say which epoch that is, and --last / --epoch still choose.

import Foundation
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class DefaultEpochTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    func testAProgramThatFreesItsHeapAtExitIsShownAsItRan() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("teardown.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, store) = try Harness.profile(exe, ["40", "20"], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertTrue(process.isFinal)
        XCTAssertGreaterThanOrEqual(process.epochs.count, 3)
        let final = process.lastEpochIndex
        let functions = try Harness.functions(of: exe)
        XCTAssertEqual(process.figuresBySite(functions: functions, epochIndex: final)["site_table"]?.liveBytes ?? 0, 0,
                       "the final dump is after the teardown")
        let shown = process.shownEpoch
        XCTAssertEqual(shown, ShownEpoch(index: final - 1, kind: .beforeTeardown(finalIndex: final)))
        let running = try XCTUnwrap(process.figuresBySite(functions: functions, epochIndex: shown.index)["site_table"])
        XCTAssertGreaterThan(running.liveBytes, 4000 * 30, "most of the table was live at the last dump before exit")
        let shownNumber = process.epochs[shown.index].epoch, finalNumber = process.epochs[final].epoch

        // pprof: the running heap by default, saying so; --last and --epoch as before.
        let profile = dir.appendingPathComponent("heap.pb.gz").path
        let byDefault = try Harness.run(Harness.swheap, ["pprof", dumps.path, "-o", profile], environment: [:])
        XCTAssertEqual(byDefault.status, 0, byDefault.stderr)
        XCTAssertTrue(byDefault.stdout.contains("epoch \(shownNumber), the last dump before exit teardown (the final dump, epoch \(finalNumber)"),
                      byDefault.stdout)
        XCTAssertTrue(byDefault.stdout.contains("--last for the final dump"), byDefault.stdout)
        let last = try Harness.run(Harness.swheap, ["pprof", dumps.path, "--last", "-o", profile + ".last"], environment: [:])
        XCTAssertEqual(last.status, 0, last.stderr)
        XCTAssertTrue(last.stdout.contains("epoch \(finalNumber),"), last.stdout)
        XCTAssertFalse(last.stdout.contains("teardown"), last.stdout)
        let chosen = try Harness.run(Harness.swheap, ["pprof", dumps.path, "--epoch", "1", "-o", profile + ".1"], environment: [:])
        XCTAssertTrue(chosen.stdout.contains("epoch 1,"), chosen.stdout + chosen.stderr)
        if ProgramRunner.exists("go") {
            let top = try Harness.goToolPprof(["-top", "-sample_index=inuse_space", profile])
            XCTAssertTrue(top.contains("site_table"), top)
            let lastTop = try Harness.goToolPprof(["-top", "-sample_index=inuse_space", profile + ".last"])
            XCTAssertFalse(lastTop.contains("site_table"), lastTop)
        }

        // The flame graph likewise.
        let folded = try Harness.run(Harness.swheap, ["flamegraph", dumps.path, "--folded", "-o", "-"], environment: [:])
        XCTAssertEqual(folded.status, 0, folded.stderr)
        let tableLine = try XCTUnwrap(folded.stdout.split(separator: "\n").first { $0.contains("site_table") }, folded.stdout)
        XCTAssertEqual(Double(tableLine.split(separator: " ").last ?? "") ?? 0, running.liveBytes, accuracy: 0.5)
        let svg = dir.appendingPathComponent("flame.svg").path
        let drawn = try Harness.run(Harness.swheap, ["flamegraph", dumps.path, "-o", svg], environment: [:])
        XCTAssertTrue(drawn.stdout.contains("epoch \(shownNumber), the last dump before exit teardown"), drawn.stdout)
        let foldedLast = try Harness.run(Harness.swheap, ["flamegraph", dumps.path, "--last", "--folded", "-o", "-"], environment: [:])
        XCTAssertEqual(foldedLast.status, 0, foldedLast.stderr)
        XCTAssertFalse(foldedLast.stdout.contains("site_table"), foldedLast.stdout)

        // The report's live figures, and its header says which epoch they are from.
        let report = try Harness.run(Harness.swheap, ["report", dumps.path, "--json"], environment: [:])
        XCTAssertEqual(report.status, 0, report.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        let entry = try XCTUnwrap((json["processes"] as? [[String: Any]])?.first)
        let live = Double(entry["live_bytes"] as? Int ?? 0)
        XCTAssertTrue(live >= running.liveBytes && live < running.liveBytes + 65536,
                      "live at the shown epoch (the table and the C library's own blocks): \(live)")
        let suspects = try XCTUnwrap(entry["suspects"] as? [[String: Any]])
        let table = try XCTUnwrap(suspects.first { ($0["site"] as? String)?.contains("site_table") == true }, "\(suspects)")
        XCTAssertEqual(Double(table["inuse_bytes"] as? Int ?? 0), running.liveBytes, accuracy: 0.5)
        let text = try Harness.run(Harness.swheap, ["report", dumps.path], environment: [:])
        XCTAssertTrue(text.stdout.contains("live at epoch \(shownNumber), the last dump before exit teardown"), text.stdout)
        // Nothing sampled was live at exit: nothing to scan, and no fallback to report.
        XCTAssertTrue(text.stdout.contains("exit scan: heap traversed"), text.stdout)
    }

    func testAProgramThatKeepsItsHeapIsShownAtItsFinalDump() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, store) = try Harness.profile(exe, ["20", "20"], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertEqual(process.shownEpoch, ShownEpoch(index: process.lastEpochIndex, kind: .finalDump))
        let profile = dir.appendingPathComponent("heap.pb.gz").path
        let written = try Harness.run(Harness.swheap, ["pprof", dumps.path, "-o", profile], environment: [:])
        XCTAssertTrue(written.stdout.contains("epoch \(process.epochs.last!.epoch), the final dump"), written.stdout)
    }
}
