// Format v2 as the real shim writes it (LD_PRELOAD): each image's stack log and epoch files,
// read back by an independent reader written from docs/FORMAT.md (Tests/Fixtures/v2check.py),
// through kill -9, fork, exec in place and SWHEAP_KEEP.

import CSwHeapFormat
import Foundation
import SwHeapTestSupport
import XCTest

final class ShimFormatTests: XCTestCase {
    struct Epoch: Decodable {
        var file: String, pid: Int, epoch: Int, flags: UInt32, log: String, log_length: Int
        var stacks: Int, modules: Int, alloc_objects: Double, live_objects: Double, live_bytes: Double
        var memory: Memory?
    }

    /// The MEMORY record, as v2check.py reads it from FORMAT.md.
    struct Memory: Decodable {
        var allocator: String, valid: UInt32, rss_bytes: UInt64?, anon_bytes: UInt64?, in_use_bytes: UInt64?
        var free_bytes: UInt64?, held_bytes: UInt64?, arenas: UInt32?, sampled_live_bytes: Double, raw: [UInt64]?
    }

    struct Directory: Decodable {
        var epochs: [Epoch]
        var logs: [String]
    }

    /// Every epoch file must stand alone with its log, or the checker fails naming it.
    static func check(_ dumps: URL) throws -> Directory {
        let checker = Harness.fixtures.appendingPathComponent("v2check.py").path
        let result = try Harness.run("python3", [checker, dumps.path], environment: [:])
        guard result.status == 0 else { throw HarnessError("v2check: \(result.stderr)") }
        return try JSONDecoder().decode(Directory.self, from: Data(result.stdout.utf8))
    }

    static func fastmotion(into dir: URL) throws -> String {
        let output = dir.appendingPathComponent("fastmotion").path
        let source = Harness.root.appendingPathComponent("bench/fastmotion.c").path
        let result = try Harness.run("cc", ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls",
                                            source, "-o", output], environment: [:])
        guard result.status == 0 else { throw HarnessError("cc fastmotion.c failed:\n\(result.stderr)") }
        return output
    }

    /// kill -9 while dumps are written back to back: every epoch file in place is complete and
    /// reads with its log (a torn chunk at the log's end is beyond every named length), and
    /// no dump but the one being written is lost: the epochs on disk are 1..N without a gap
    /// (SWHEAP_KEEP=0: the default budget would thin a run this long).
    func testKillNineMidRunLeavesEveryCompleteEpochReadable() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Self.fastmotion(into: dir)
        for (run, delay) in [0.4, 0.7, 1.0].enumerated() {
            let dumps = dir.appendingPathComponent("dumps\(run)")
            let process = try ProgramRunner.start(exe, ["100000000"], environment: ProgramRunner.environment(
                ["SWHEAP_DUMP_BYTES": "262144", "SWHEAP_INTERVAL": "0", "SWHEAP_KEEP": "0", "SWHEAP_DIR": dumps.path],
                preload: Harness.shim))
            Thread.sleep(forTimeInterval: delay)
            kill(process.pid, SIGKILL)
            XCTAssertTrue(try process.wait().signalled)
            let read = try Self.check(dumps)
            XCTAssertGreaterThanOrEqual(read.epochs.count, 3, "killed after \(delay) s")
            XCTAssertEqual(read.epochs.map(\.epoch), Array(1...read.epochs.count), "a gap in the epochs")
            XCTAssertEqual(read.logs.count, 1)
            XCTAssertTrue(read.epochs.allSatisfy { $0.flags & SW_FLAG_FINAL == 0 && $0.flags & SW_FLAG_DEFLATED != 0 })
            XCTAssertGreaterThan(read.epochs.last!.stacks, 100)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dumps.path).filter { $0.hasSuffix(".tmp") }
            XCTAssertLessThanOrEqual(leftovers.count, 1, "at most the epoch being written")
        }
    }

    /// Periodic dumps and the exit dump share one log; its length grows with every dump and
    /// the figures are exact at rate 1 (30 leaked blocks of 1000 bytes from one site).
    func testPeriodicAndExitDumpsShareOneLog() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let result = try Harness.run(exe, ["30", "10"], environment: [
            "SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.03", "SWHEAP_DIR": dumps.path], preload: true)
        XCTAssertEqual(result.status, 0, result.stderr)
        let read = try Self.check(dumps)
        XCTAssertGreaterThanOrEqual(read.epochs.count, 3)
        XCTAssertEqual(read.logs, ["\(read.epochs[0].pid).000001.log"])
        XCTAssertTrue(read.epochs.allSatisfy { $0.log == read.logs[0] })
        let lengths = read.epochs.map(\.log_length)
        XCTAssertEqual(lengths, lengths.sorted())
        XCTAssertEqual(Set(lengths).count, lengths.count, "one chunk per dump")
        let last = try XCTUnwrap(read.epochs.last)
        XCTAssertNotEqual(last.flags & SW_FLAG_FINAL, 0)
        XCTAssertEqual(read.epochs.filter { $0.flags & SW_FLAG_FINAL != 0 }.count, 1)
        XCTAssertGreaterThanOrEqual(last.live_bytes, 30_000, "the leak is live at exit")
        XCTAssertLessThan(last.live_bytes, 30_000 + 8192, "only the leak and libc's own buffers")
        XCTAssertGreaterThanOrEqual(last.alloc_objects, 60, "30 leaked and 30 churned blocks at least")
        let logSize = try XCTUnwrap(FileManager.default.attributesOfItem(
            atPath: dumps.appendingPathComponent(read.logs[0]).path)[.size] as? Int)
        XCTAssertEqual(logSize, last.log_length, "the exit dump's chunk is the log's last")
        // Every dump has its memory picture, glibc's figures included (in use + free = held,
        // mallinfo2's arena + hblkhd), and its sampled heap is the COHORTS total (checked).
        for epoch in read.epochs {
            let memory = try XCTUnwrap(epoch.memory, "epoch \(epoch.epoch) has no MEMORY")
            XCTAssertEqual(memory.allocator, "glibc")
            XCTAssertEqual(memory.valid & 127, 127, "every figure of epoch \(epoch.epoch)")
            XCTAssertGreaterThan(memory.rss_bytes ?? 0, 1 << 20)
            XCTAssertEqual((memory.in_use_bytes ?? 0) + (memory.free_bytes ?? 0), memory.held_bytes)
            XCTAssertEqual(memory.arenas, 1, "one thread allocates: the main arena")
            XCTAssertGreaterThanOrEqual(memory.in_use_bytes ?? 0, UInt64(memory.sampled_live_bytes))
        }
    }

    /// A forked child starts a log of its own under its own pid: the parent's log state does
    /// not leak into it (its first chunk must carry every stack it uses, or the check fails).
    func testForkedChildStartsItsOwnLog() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Harness.compile("forking.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let result = try Harness.run(exe, [], environment: [
            "SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.05", "SWHEAP_DIR": dumps.path], preload: true)
        XCTAssertEqual(result.status, 0, result.stderr)
        let read = try Self.check(dumps)
        let pids = Set(read.epochs.map(\.pid))
        XCTAssertEqual(pids.count, 2)
        XCTAssertEqual(Set(read.logs), Set(pids.map { "\($0).000001.log" }))
        for pid in pids {
            let own = read.epochs.filter { $0.pid == pid }
            XCTAssertTrue(own.allSatisfy { $0.log == "\(pid).000001.log" })
            XCTAssertEqual(own.filter { $0.flags & SW_FLAG_FINAL != 0 }.count, 1)
        }
    }

    /// exec in place keeps the pid: the new image's log is named by its own first epoch.
    func testExecInPlaceStartsALogNamedByTheImagesFirstEpoch() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let result = try Harness.run(exe, ["inplace"], environment: [
            "SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.05", "SWHEAP_DIR": dumps.path], preload: true)
        XCTAssertEqual(result.status, 3, result.stderr)
        let read = try Self.check(dumps)
        XCTAssertEqual(read.logs.count, 2, "\(read.logs)")
        let logs = Dictionary(grouping: read.epochs, by: \.log)
        for (log, epochs) in logs {
            let first = epochs.map(\.epoch).min()!
            XCTAssertEqual(log, String(format: "%d.%06d.log", epochs[0].pid, first))
        }
    }

    /// SWHEAP_KEEP=32 (recent = 2): after the run exactly the epochs sw_retention_keeps keeps
    /// are on disk, each still readable with the log, the final dump among them.
    func testKeepLeavesExactlyTheEpochsThePolicyKeeps() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let result = try Harness.run(exe, ["300", "1"], environment: [
            "SWHEAP_RATE": "1", "SWHEAP_DUMP_BYTES": "4000", "SWHEAP_INTERVAL": "0", "SWHEAP_KEEP": "32",
            "SWHEAP_DIR": dumps.path], preload: true)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        let read = try Self.check(dumps)
        let newest = try XCTUnwrap(read.epochs.last?.epoch)
        XCTAssertGreaterThan(newest, 64, "enough dumps for thinning to show")
        XCTAssertNotEqual(read.epochs.last!.flags & SW_FLAG_FINAL, 0)
        let expected = (1...newest).filter { sw_retention_keeps(UInt64($0), UInt64(newest), 2) != 0 }
        XCTAssertEqual(read.epochs.map(\.epoch), expected)
        XCTAssertLessThanOrEqual(expected.count, 32)
        XCTAssertTrue(expected.contains(1))

        // A malformed setting is said once and ignored: everything is kept.
        let all = dir.appendingPathComponent("all")
        let loose = try Harness.run(exe, ["20", "1"], environment: [
            "SWHEAP_RATE": "1", "SWHEAP_DUMP_BYTES": "4000", "SWHEAP_INTERVAL": "0", "SWHEAP_KEEP": "-1",
            "SWHEAP_DIR": all.path], preload: true)
        XCTAssertEqual(loose.stderr.split(separator: "\n").count, 1, loose.stderr)
        XCTAssertTrue(loose.stderr.contains("SWHEAP_KEEP"), loose.stderr)
        let everything = try Self.check(all)
        XCTAssertEqual(everything.epochs.map(\.epoch), Array(1...everything.epochs.count))
    }
}
