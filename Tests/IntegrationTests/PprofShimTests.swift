// `swheap pprof` on real shim dumps, read back by the real pprof client.
import Foundation
import SwHeapOutput
import SwHeapStore
import SwHeapSymbols
import SwHeapTestSupport
import XCTest

final class PprofShimTests: XCTestCase {
    /// newdelete.cpp at rate 1: 30 Widgets (48 B) made by site_new(), 10 deleted; 8 arrays of
    /// 25 ints made by site_new_array(), all deleted.
    private func profileNewDelete() throws -> (dumps: URL, profile: String) {
        try Harness.requireBuild()
        let dir = try Harness.scratch()
        let program = try Harness.compile("newdelete.cpp", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (run, _) = try Harness.profile(program, dumps: dumps, rate: 1)
        XCTAssertEqual(run.status, 0, run.stderr)
        let profile = dir.appendingPathComponent("heap.pb.gz").path
        let written = try Harness.run(Harness.swheap, ["pprof", dumps.path, "-o", profile], environment: [:])
        XCTAssertEqual(written.status, 0, written.stderr)
        XCTAssertTrue(written.stdout.hasPrefix("wrote \(profile): pid "), written.stdout)
        return (dumps, profile)
    }

    func testProfileOfRealDumpsIsSymbolised() throws {
        let (_, path) = try profileNewDelete()
        let profile = try PprofFile.read(from: path)
        let strings = profile.stringTable
        let names = Set(profile.function.map { strings[Int($0.name)] })
        XCTAssertTrue(names.contains("site_new()"), "\(names)")
        XCTAssertTrue(names.contains("site_new_array()"), "\(names)")
        XCTAssertTrue(profile.mapping.first.map { strings[Int($0.filename)].hasSuffix("/newdelete") } ?? false)
        XCTAssertTrue(profile.mapping.first?.hasFunctions_p ?? false)
    }

    func testGoToolPprofShowsTheSites() throws {
        let (_, path) = try profileNewDelete()
        try Harness.requireGo()
        func pprof(_ arguments: [String]) throws -> String { try Harness.goToolPprof(arguments + [path]) }
        func row(_ output: String, _ function: String) -> String? {
            output.split(separator: "\n").first { $0.hasSuffix(" " + function) }.map(String.init)
        }
        let inuse = try pprof(["-top", "-unit=B"])
        XCTAssertTrue(inuse.contains("Type: inuse_space"), inuse)
        XCTAssertTrue(row(inuse, "site_new()")?.hasPrefix("      960B") ?? false, inuse)   // 20 live x 48 B, flat
        XCTAssertNil(row(inuse, "site_new_array()").flatMap { $0.contains("800B") ? $0 : nil }, inuse)

        let alloc = try pprof(["-top", "-unit=B", "-sample_index=alloc_space"])
        XCTAssertTrue(row(alloc, "site_new()")?.hasPrefix("     1440B") ?? false, alloc)    // 30 x 48 B
        XCTAssertTrue(row(alloc, "site_new_array()")?.hasPrefix("      800B") ?? false, alloc) // 8 x 100 B
        // drop_frames: the vector's growth is charged to the program's code, not the allocator.
        XCTAssertNil(row(alloc, "std::__new_allocator::allocate (inline)"), alloc)

        let objects = try pprof(["-top", "-sample_index=alloc_objects"])
        XCTAssertTrue(row(objects, "site_new()")?.contains("30") ?? false, objects)
    }

    func testClearErrorsForUnknownPidAndEpoch() throws {
        let (dumps, _) = try profileNewDelete()
        let pid = try XCTUnwrap(HeapStore.load(directory: dumps.path).processes.first?.pid)
        let badPid = try Harness.run(Harness.swheap, ["pprof", dumps.path, "--pid", "1"], environment: [:])
        XCTAssertNotEqual(badPid.status, 0)
        XCTAssertEqual(badPid.stderr, "swheap: error: no process 1 in the dumps; pids: \(pid)\n")
        let badEpoch = try Harness.run(Harness.swheap, ["pprof", dumps.path, "--epoch", "99"], environment: [:])
        XCTAssertNotEqual(badEpoch.status, 0)
        XCTAssertEqual(badEpoch.stderr, "swheap: error: process \(pid) has no epoch 99; epochs: 1\n")
    }
}
