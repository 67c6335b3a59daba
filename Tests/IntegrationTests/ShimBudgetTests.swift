// The disk budget (SWHEAP_MAX_BYTES) and the default retention under the real LD_PRELOAD: the
// directory stays within the budget with rotated stack logs, the thinned history still reads
// (every epoch with its log, by an independent reader and by HeapStore and its watcher) and
// ranks right, the budget is said once naming the process, and 0 keeps everything.

import CSwHeapFormat
import Foundation
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimBudgetTests: XCTestCase {
    struct Suspect: Decodable { var verdict: String; var site: String }
    struct Process: Decodable { var pid: Int32; var epochs: Int; var suspects: [Suspect] }
    struct Report: Decodable { var processes: [Process] }

    private func files(_ dir: URL) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)
            out[name] = (attributes[.size] as? NSNumber)?.intValue ?? 0
        }
        return out
    }

    /// The fast-motion service under a 1 MB budget, leaking one record per 25 requests (at the
    /// benchmark's one per 100 a run sees a leak sample only every ~20 dense epochs, and one
    /// run in ten read the quiet tail as levelled off): the files never exceed it, the logs rotate
    /// and only logs a kept epoch names remain, the kept epochs are exactly the policy's for a
    /// halved `recent`, one stderr line names the process, and the leak is still growing while
    /// the bounded cache is not.
    func testBudgetBoundsTheDirectoryAndKeepsVerdicts() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try ShimFormatTests.fastmotion(into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let budget = 1_000_000
        let run = try Harness.run(exe, ["1500000", "25"], environment: [
            "SWHEAP_DUMP_BYTES": "4194304", "SWHEAP_INTERVAL": "0", "SWHEAP_MAX_BYTES": String(budget),
            "SWHEAP_DIR": dumps.path], preload: true, timeout: 300)
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, run.stderr)
        let line = String(lines.first ?? "")
        XCTAssertTrue(line.contains("disk budget"), line)
        XCTAssertTrue(line.contains("fastmotion"), line)
        XCTAssertTrue(line.contains("SWHEAP_MAX_BYTES=\(budget)"), line)
        XCTAssertTrue(line.contains("--max-bytes"), line)

        let onDisk = try files(dumps)
        XCTAssertLessThanOrEqual(onDisk.values.reduce(0, +), budget, "\(onDisk.count) files")
        let read = try ShimFormatTests.check(dumps)  // every epoch stands alone with its log
        let epochs = read.epochs.map { UInt64($0.epoch) }
        let newest = try XCTUnwrap(epochs.last)
        XCTAssertTrue(line.contains("pid \(read.epochs[0].pid) "), line)
        XCTAssertGreaterThan(newest, 200, "enough dumps to thin")
        // Exactly the epochs the policy keeps for some halving of the default recent (64).
        let recents = sequence(first: UInt64(SW_DEFAULT_KEEP) / 16, next: { $0 > 1 ? $0 / 2 : nil })
        let matching = recents.first { r in epochs == (1...newest).filter { sw_retention_keeps($0, newest, r) != 0 } }
        XCTAssertNotNil(matching, "kept \(epochs)")
        XCTAssertLessThan(try XCTUnwrap(matching), 64, "the budget, not SWHEAP_KEEP, thinned")
        // Rotated logs, each still named by a kept epoch file.
        XCTAssertGreaterThan(read.logs.count, 1)
        XCTAssertEqual(Set(read.logs), Set(read.epochs.map(\.log)))

        // The thinned history ranks right: the slow leak grows, the bounded cache does not.
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--json", "--top", "200"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        let suspects = try XCTUnwrap(report.processes.first?.suspects)
        XCTAssertEqual(suspects.first?.site, "new_session_record", "\(suspects.prefix(3))")
        XCTAssertEqual(suspects.first?.verdict, "growing")
        for cache in suspects where cache.site == "new_cache_entry" { XCTAssertNotEqual(cache.verdict, "growing") }

        // The watcher (swheap serve) reads an image whose epochs switch logs.
        var watcher = HeapStoreWatcher(directory: dumps.path)
        let refreshed = try watcher.refresh()
        let loaded = try HeapStore.load(directory: dumps.path)
        XCTAssertEqual(refreshed.store.processes.map(\.epochs.count), loaded.processes.map(\.epochs.count))
        // The loader forgets a log once the files move past it; the watcher keeps them all.
        XCTAssertEqual(refreshed.store.processes.map(\.totals), loaded.processes.map(\.totals))
    }

    /// No settings at all: SWHEAP_KEEP's default (1024, recent 64) thins a long run, silently.
    func testDefaultsThinWithoutAWord() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let run = try Harness.run(exe, ["600", "1"], environment: [
            "SWHEAP_RATE": "1", "SWHEAP_DUMP_BYTES": "4000", "SWHEAP_INTERVAL": "0", "SWHEAP_DIR": dumps.path], preload: true)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr, "")
        let read = try ShimFormatTests.check(dumps)
        let epochs = read.epochs.map { UInt64($0.epoch) }
        let newest = try XCTUnwrap(epochs.last)
        XCTAssertGreaterThan(newest, 150, "past 2 * recent = 128: thinning shows")
        XCTAssertEqual(epochs, (1...newest).filter { sw_retention_keeps($0, newest, 64) != 0 })
        XCTAssertLessThan(epochs.count, Int(newest))
    }

    /// SWHEAP_KEEP=0, or a budget of 0, keeps every epoch and says nothing, however small the
    /// other setting.
    func testZeroKeepsEverything() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        for (name, settings) in [("keep0", ["SWHEAP_KEEP": "0", "SWHEAP_MAX_BYTES": "1000"]),
                                 ("budget0", ["SWHEAP_KEEP": "32", "SWHEAP_MAX_BYTES": "0"])] {
            let dumps = dir.appendingPathComponent(name)
            let run = try Harness.run(exe, ["200", "1"], environment: settings.merging([
                "SWHEAP_RATE": "1", "SWHEAP_DUMP_BYTES": "4000", "SWHEAP_INTERVAL": "0", "SWHEAP_DIR": dumps.path]) { a, _ in a },
                preload: true)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(run.stderr, "", name)
            let read = try ShimFormatTests.check(dumps)
            XCTAssertGreaterThan(read.epochs.count, 64, name)
            XCTAssertEqual(read.epochs.map(\.epoch), Array(1...read.epochs.count), name)
            XCTAssertEqual(read.logs.count, 1, name)
        }
    }

    /// `swheap run --max-bytes` sets the budget: a tiny one makes the shim say so.
    func testRunMaxBytesSetsTheBudget() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let run = try Harness.run(Harness.swheap, ["run", "--rate", "1", "--max-bytes", "20000", "--dir", dumps.path, "--", exe, "200", "1"],
                                  environment: ["SWHEAP_DUMP_BYTES": "4000", "SWHEAP_INTERVAL": "0"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("SWHEAP_MAX_BYTES=20000"), run.stderr)
        XCTAssertNoThrow(try ShimFormatTests.check(dumps))
    }
}
