// At SWHEAP_RATE=1 every allocation is recorded: the books must match the fixtures exactly.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimExactTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    func testEveryEntryPointKeepsExactBooks() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("exact.c", into: dir)
        let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: 1)
        XCTAssertEqual(result.status, 0, result.stderr)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertTrue(process.isFinal)
        let sites = process.figuresBySite(functions: try Harness.functions(of: exe))
        func expect(_ site: String, alloc: (Double, Double), live: (Double, Double), line: UInt = #line) {
            let f = sites[site] ?? SiteFigures()
            XCTAssertEqual(f.allocObjects, alloc.0, "\(site) allocated objects: \(f)", line: line)
            XCTAssertEqual(f.allocBytes, alloc.1, "\(site) allocated bytes: \(f)", line: line)
            XCTAssertEqual(f.liveObjects, live.0, "\(site) live objects: \(f)", line: line)
            XCTAssertEqual(f.liveBytes, live.1, "\(site) live bytes: \(f)", line: line)
        }
        expect("site_malloc", alloc: (100, 6400), live: (100, 6400))
        expect("site_calloc", alloc: (50, 5000), live: (0, 0))
        expect("site_realloc_grow", alloc: (10, 5500), live: (1, 1000))
        expect("site_realloc_zero_source", alloc: (1, 40), live: (0, 0))
        expect("site_realloc_fail_source", alloc: (1, 48), live: (1, 48))
        expect("site_reallocarray", alloc: (4, 512), live: (4, 512))
        expect("site_posix_memalign", alloc: (10, 2560), live: (10, 2560))
        expect("site_aligned_alloc", alloc: (10, 1280), live: (5, 640))
        expect("site_memalign", alloc: (5, 480), live: (0, 0))
        expect("site_valloc", alloc: (3, 300), live: (3, 300))
        expect("site_pvalloc", alloc: (2, 200), live: (2, 200))
        expect("site_zero", alloc: (7, 0), live: (7, 0))
        expect("site_strdup", alloc: (5, 30), live: (5, 30))
        XCTAssertNil(sites["main"], "frames of main must not be mistaken for a site")
    }

    /// Exact mode reuses stacks it unwound before (stack_cache.c): two callers whose frames
    /// below them are identical, down to their stack addresses, must still be told apart.
    func testCallersAboveASharedPathAreToldApart() throws {
        let dir = try Harness.scratch()
        for (name, flags) in [("frame pointers", ["-fno-omit-frame-pointer"]), ("none", ["-fomit-frame-pointer"])] {
            let build = dir.appendingPathComponent(flags[0])
            try FileManager.default.createDirectory(at: build, withIntermediateDirectories: true)
            let exe = try Harness.compile("stack_paths.c", into: build, extraFlags: flags)
            let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps-\(flags[0])"), rate: 1)
            XCTAssertEqual(result.status, 0, result.stderr)
            // The fixture prints its own counts: "a 3023 b 1977 recursion 5000".
            let counts = result.stdout.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            XCTAssertEqual(counts.count, 3, result.stdout)
            let sites = try XCTUnwrap(store.processes.first).figuresBySite(functions: try Harness.functions(of: exe))
            XCTAssertEqual(sites["site_path_a"]?.allocObjects, counts[0], name)
            XCTAssertEqual(sites["site_path_a"]?.allocBytes, counts[0] * 24, name)
            XCTAssertEqual(sites["site_path_b"]?.allocObjects, counts[1], name)
            XCTAssertEqual(sites["site_path_b"]?.allocBytes, counts[1] * 40, name)
            XCTAssertEqual(sites["site_recursion"]?.allocObjects, counts[2], name)
        }
    }

    func testCxxNewAndDeleteArriveThroughMalloc() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("newdelete.cpp", into: dir)
        let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: 1)
        XCTAssertEqual(result.status, 0, result.stderr)
        let process = try XCTUnwrap(store.processes.first)
        let sites = process.figuresBySite(functions: try Harness.functions(of: exe))
        let widget = try XCTUnwrap(sites.first { $0.key.contains("site_new") && !$0.key.contains("array") }?.value)
        XCTAssertEqual(widget, SiteFigures(allocObjects: 30, allocBytes: 1440, liveObjects: 20, liveBytes: 960))
        let array = try XCTUnwrap(sites.first { $0.key.contains("site_new_array") }?.value)
        XCTAssertEqual(array, SiteFigures(allocObjects: 8, allocBytes: 800, liveObjects: 0, liveBytes: 0))
    }

    func testCrossThreadFreesKeepExactBooks() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("threads.c", into: dir)
        let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: 1,
                                                  interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        let process = try XCTUnwrap(store.processes.first)
        let sites = process.figuresBySite(functions: try Harness.functions(of: exe))
        // 4 threads x 20000 objects of (i % 7 + 1) * 16 bytes; every tenth object kept.
        let sizes = (0..<20000).map { Double(($0 % 7 + 1) * 16) }
        let keptBytes = stride(from: 0, to: 20000, by: 10).map { sizes[$0] }.reduce(0, +)
        XCTAssertEqual(sites["site_thread_alloc"],
                       SiteFigures(allocObjects: 80000, allocBytes: 4 * sizes.reduce(0, +),
                                   liveObjects: 8000, liveBytes: 4 * keptBytes))
        XCTAssertEqual(sites["site_transient"],
                       SiteFigures(allocObjects: 80000, allocBytes: 80000 * 24, liveObjects: 0, liveBytes: 0))
    }
}
