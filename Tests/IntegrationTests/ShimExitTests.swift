// Every way out leaves a final dump: return, exit, _exit, _Exit, quick_exit, _exit from a
// signal handler; a vfork child's _exit writes nothing (its memory is the parent's); and a
// program that goes idle after start-up and is then killed still has a dump of its heap.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimExitTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    private func compileExits(into dir: URL) throws -> String {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("compat"), withIntermediateDirectories: true)
        return try Harness.compile("compat/exits.c", into: dir)
    }

    func testEveryExitWritesOneFinalDump() throws {
        let dir = try Harness.scratch()
        let exe = try compileExits(into: dir)
        let total = (0..<100).reduce(0.0) { $0 + Double(100 + $1) }
        for (how, status) in [("return", 15), ("exit", 11), ("_exit", 12), ("_Exit", 13), ("quick_exit", 14),
                              ("signal", 16), ("vfork", 17)] {
            let dumps = dir.appendingPathComponent("dumps-\(how)")
            // A writer thread dumping every 50 ms runs beside the exit.
            let (result, store) = try Harness.profile(exe, [how], dumps: dumps, rate: 1, interval: 0.05)
            XCTAssertEqual(result.status, Int32(status), "\(how): \(result.stderr)")
            XCTAssertEqual(store.processes.count, 1, "\(how): one process wrote dumps (a vfork child writes none)")
            let heap = try XCTUnwrap(store.processes.first, how)
            XCTAssertTrue(heap.isFinal, "\(how) left no final dump")
            let files = try FileManager.default.contentsOfDirectory(atPath: dumps.path).filter { $0.hasSuffix(".swheap") }
            XCTAssertEqual(files.count, heap.epochs.count, "\(how): \(files)")
            let live = heap.sites.reduce(0.0) { $0 + $1.liveBytes[heap.lastEpochIndex] }
            XCTAssertGreaterThanOrEqual(live, total, "\(how): the 100 kept blocks are in the final dump")
        }
    }

    /// Allocates at start-up, then sleeps: the writer thread must exist without any later
    /// allocation, so after two intervals a dump describes the start-up heap; then SIGKILL.
    func testIdleProgramKilledAfterTwoIntervalsHasADump() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("idle.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let process = try ProgramRunner.start(exe, ["60"], environment: ProgramRunner.environment(
            ["SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.2", "SWHEAP_DIR": dumps.path], preload: Harness.shim))
        Thread.sleep(forTimeInterval: 0.2 * 2 + 0.5)
        kill(process.pid, SIGKILL)
        let ended = try process.wait()
        XCTAssertTrue(ended.signalled)
        let heap = try XCTUnwrap(try HeapStore.load(directory: dumps.path).processes.first, "no dump at all")
        XCTAssertFalse(heap.isFinal)
        let sites = heap.figuresBySite(functions: try Harness.functions(of: exe))
        XCTAssertEqual(sites["site_startup"], SiteFigures(allocObjects: 50, allocBytes: 50000, liveObjects: 50,
                                                         liveBytes: 50000))
    }
}
