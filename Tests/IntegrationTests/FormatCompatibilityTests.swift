// The reader against real directories: a v1 directory written by the last v1 shim (checked in
// under Tests/Fixtures/v1-dumps) still loads and ranks as it did, the real v2 shim's output of
// the same program ranks the same, a thinned directory (SWHEAP_KEEP) ranks the same leak
// first, a truncated last epoch is skipped with one warning line, and `swheap pprof --epoch N`
// works from one epoch file and its log.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class FormatCompatibilityTests: XCTestCase {
    struct Suspect: Decodable {
        var rank: Int
        var verdict: String
        var site: String
        var inuse_bytes: Double
        var unreferenced_bytes: Double?
    }
    struct Process: Decodable {
        var pid: Int32
        var epochs: Int
        var suspects: [Suspect]
    }
    struct Report: Decodable { var processes: [Process] }

    private func report(_ dumps: String) throws -> (Report, stderr: String) {
        let result = try Harness.run(Harness.swheap, ["report", dumps, "--json"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        return (try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8)), result.stderr)
    }

    private func copy(_ directory: String, to target: URL) throws {
        try FileManager.default.copyItem(atPath: directory, toPath: target.path)
    }

    func testVersion1DirectoryStillLoadsAndRanks() throws {
        try Harness.requireBuild()
        let v1 = Harness.fixtures.appendingPathComponent("v1-dumps").path
        let (read, stderr) = try report(v1)
        XCTAssertEqual(stderr, "")
        let process = try XCTUnwrap(read.processes.first)
        XCTAssertEqual(read.processes.count, 1)
        XCTAssertEqual(process.pid, 15600)
        XCTAssertEqual(process.epochs, 11)
        let top = try XCTUnwrap(process.suspects.first)
        XCTAssertEqual(top.verdict, "growing")
        XCTAssertEqual(top.inuse_bytes, 40_000, "40 blocks of 1000 bytes, exact at rate 1")
        XCTAssertEqual(top.unreferenced_bytes, 40_000)
        let header = try DumpReader.readHeader(path: v1 + "/15600.000001.swheap")
        XCTAssertEqual(header.version, 1)

        // The same program under today's shim (v2) ranks the same.
        let dumps = try profileGrowing()
        let files = try FileManager.default.contentsOfDirectory(atPath: dumps.path)
        XCTAssertTrue(files.contains { $0.hasSuffix(".log") }, "the v2 shim writes a stack log: \(files)")
        let (now, _) = try report(dumps.path)
        let same = try XCTUnwrap(now.processes.first?.suspects.first)
        XCTAssertEqual(same.site, "site_leak")
        XCTAssertEqual(same.verdict, top.verdict)
        XCTAssertEqual(same.inuse_bytes, top.inuse_bytes)
        XCTAssertEqual(same.unreferenced_bytes, top.unreferenced_bytes)
    }

    /// SWHEAP_KEEP thins the directory while the program runs; the leak still ranks first, and
    /// the same as in the whole directory of the same run.
    func testThinnedDirectoryRanksTheSameLeakFirst() throws {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        var tops: [Suspect] = []
        var counts: [Int] = []
        for keep in ["0", "32"] {
            let dumps = dir.appendingPathComponent("dumps-keep\(keep)")
            let run = try Harness.run(exe, ["300", "1"], environment: [
                "SWHEAP_RATE": "1", "SWHEAP_DUMP_BYTES": "8000", "SWHEAP_INTERVAL": "0", "SWHEAP_KEEP": keep,
                "SWHEAP_DIR": dumps.path], preload: true)
            XCTAssertEqual(run.status, 0, run.stderr)
            counts.append(try FileManager.default.contentsOfDirectory(atPath: dumps.path).filter { $0.hasSuffix(".swheap") }.count)
            let (read, _) = try report(dumps.path)
            tops.append(try XCTUnwrap(read.processes.first?.suspects.first))
        }
        XCTAssertLessThanOrEqual(counts[1], 32)
        XCTAssertGreaterThan(counts[0], 2 * counts[1], "thinning removed files: \(counts)")
        XCTAssertEqual(tops.map(\.site), ["site_leak", "site_leak"])
        XCTAssertEqual(tops.map(\.verdict), ["growing", "growing"])
        XCTAssertEqual(tops[0].inuse_bytes, tops[1].inuse_bytes)
    }

    /// A last epoch cut short (a writer killed mid-write on a filesystem without atomic rename)
    /// is skipped with one warning line naming it; pprof --epoch N reads one file and the log.
    func testTruncatedLastEpochAndStandaloneEpoch() throws {
        try Harness.requireBuild()
        let dumps = try profileGrowing()
        let dir = dumps.deletingLastPathComponent()
        let epochFiles = try FileManager.default.contentsOfDirectory(atPath: dumps.path)
            .filter { $0.hasSuffix(".swheap") }.sorted()
        XCTAssertGreaterThanOrEqual(epochFiles.count, 4)
        let (whole, _) = try report(dumps.path)
        let epochs = try XCTUnwrap(whole.processes.first?.epochs)

        let cut = dir.appendingPathComponent("cut")
        try copy(dumps.path, to: cut)
        let last = cut.appendingPathComponent(epochFiles.last!).path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: last))
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: last))
        let (read, stderr) = try report(cut.path)
        XCTAssertEqual(read.processes.first?.epochs, epochs - 1)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
        XCTAssertTrue(stderr.hasPrefix("swheap: warning: skipped \(last), the incomplete last epoch"), stderr)
        XCTAssertEqual(read.processes.first?.suspects.first?.site, "site_leak")

        // One epoch file and its log, nothing else.
        let alone = dir.appendingPathComponent("alone")
        try copy(dumps.path, to: alone)
        let chosen = epochFiles[2]
        for file in epochFiles where file != chosen {
            try FileManager.default.removeItem(at: alone.appendingPathComponent(file))
        }
        let epoch = try XCTUnwrap(UInt64(chosen.split(separator: ".")[1]))
        let profile = dir.appendingPathComponent("heap.pb.gz").path
        let pprof = try Harness.run(Harness.swheap, ["pprof", alone.path, "--epoch", String(epoch), "-o", profile],
                                    environment: [:])
        XCTAssertEqual(pprof.status, 0, pprof.stderr)
        XCTAssertTrue(pprof.stdout.contains("epoch \(epoch),"), pprof.stdout)
        let loaded = try XCTUnwrap(HeapStore.load(directory: alone.path).processes.first)
        let full = try XCTUnwrap(HeapStore.load(directory: dumps.path, selection: .all).processes.first)
        let index = try XCTUnwrap(full.epochIndex(ofEpoch: epoch))
        XCTAssertEqual(loaded.totals, [full.totals[index]], "one file and its log say what the whole directory says of it")
    }

    /// growing.c (40 leaked blocks of 1000 bytes over 10 steps) under today's shim at rate 1
    /// with a dump every 50 ms: its dump directory.
    private func profileGrowing() throws -> URL {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let run = try Harness.run(exe, ["40", "10"], environment: [
            "SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.05", "SWHEAP_DIR": dumps.path], preload: true)
        XCTAssertEqual(run.status, 0, run.stderr)
        return dumps
    }
}
