// A Swift program's profile: demangled Swift names, and the flat cost lands in user code,
// not in swift_slowAlloc / swift_allocObject / array buffer growth. Also -lines and -raw.
import Foundation
import SwHeapOutput
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class PprofSwiftTests: XCTestCase {
    func testSwiftProfileNamesUserCodeWithLines() throws {
        try Harness.requireBuild()
        try Harness.requireGo()
        let dir = try Harness.scratch()
        let exe = try Harness.compileSwift("cycles.swift", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (run, _) = try Harness.profile(exe, ["10", "5"], dumps: dumps, rate: 1)
        XCTAssertEqual(run.status, 0, run.stderr)
        let profile = dir.appendingPathComponent("heap.pb.gz").path
        let written = try Harness.run(Harness.swheap, ["pprof", dumps.path, "-o", profile], environment: [:])
        XCTAssertEqual(written.status, 0, written.stderr)

        func pprof(_ arguments: [String]) throws -> String { try Harness.goToolPprof(arguments + [profile]) }
        // 10 steps x 8 cycles: each Parent and Child object is live, plus their payload arrays.
        let top = try pprof(["-top", "-nodecount=20"])
        // The first row under the "flat flat% ..." header is the largest flat cost.
        let lines = top.split(separator: "\n")
        let header = try XCTUnwrap(lines.firstIndex { $0.contains("flat%") }, top)
        let leaf = try XCTUnwrap(lines.dropFirst(header + 1).first, top)
        XCTAssertTrue(leaf.contains("cycles."), "the top flat entry is user code: \(leaf)\n\(top)")
        XCTAssertFalse(top.contains("swift_slowAlloc"), top)
        XCTAssertFalse(top.contains("swift_allocObject"), top)
        XCTAssertTrue(top.contains("cycles.Parent") && top.contains("cycles.Child"), top)
        XCTAssertFalse(top.contains("$s6cycles"), "names are demangled:\n\(top)")

        let withLines = try pprof(["-top", "-lines", "-nodecount=30"])
        XCTAssertTrue(withLines.contains("cycles.swift:"), withLines)

        let raw = try pprof(["-raw"])
        for type in ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"] {
            XCTAssertTrue(raw.contains(type), "\(type) in -raw:\n\(raw.prefix(400))")
        }
        XCTAssertTrue(raw.contains("birth_epoch"), "birth epoch label:\n\(raw.prefix(2000))")
    }
}
