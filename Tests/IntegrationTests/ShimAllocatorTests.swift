// The program keeps its allocator under the preload: jemalloc, tcmalloc and mimalloc (Debian's
// libjemalloc2, libtcmalloc-minimal4, libmimalloc2.0, installed by `scripts/deps test`),
// linked or preloaded after swheap. The fixture asks the allocator itself, through its own
// API, whether it owns the program's blocks, and swheap's books must still be exact at rate 1.
// Also: C++ new and delete are profiled on each (their operator new bypasses malloc), and
// with SWHEAP_UNWIND=fp a `new` in f() is blamed on f.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimAllocatorTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    private static let libraries = [
        ("jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"),
        ("tcmalloc", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"),
        ("mimalloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"),
    ]

    private func library(_ name: String) throws -> String {
        let path = try XCTUnwrap(Self.libraries.first { $0.0 == name }?.1)
        guard FileManager.default.fileExists(atPath: path) else {
            throw HarnessError("\(path) is missing: `scripts/deps test` installs it")
        }
        return path
    }

    /// The fixture's books at rate 1, the same on every allocator.
    private func expectExactBooks(_ heap: ProcessHeap, _ exe: String, _ label: String) throws {
        let sites = heap.figuresBySite(functions: try Harness.functions(of: exe))
        let expected: [String: SiteFigures] = [
            "site_malloc": SiteFigures(allocObjects: 200, allocBytes: 200_000, liveObjects: 200, liveBytes: 200_000),
            "site_calloc": SiteFigures(allocObjects: 50, allocBytes: 15000, liveObjects: 50, liveBytes: 15000),
            "site_zero": SiteFigures(allocObjects: 40, allocBytes: 0, liveObjects: 40, liveBytes: 0),
            "site_churn": SiteFigures(allocObjects: 300, allocBytes: 150_000, liveObjects: 0, liveBytes: 0),
            "site_memalign": SiteFigures(allocObjects: 20, allocBytes: 5120, liveObjects: 20, liveBytes: 5120),
            "site_new": SiteFigures(allocObjects: 30, allocBytes: 1920, liveObjects: 20, liveBytes: 1280),
        ]
        for (site, figures) in expected {
            XCTAssertEqual(sites[site] ?? SiteFigures(), figures, "\(label): \(site)")
        }
    }

    private func check(_ name: String, linked: Bool) throws {
        let lib = try library(name)
        let dir = try Harness.scratch("\(#function)-\(name)-\(linked)")
        // Linked: the allocator is a DT_NEEDED of the executable. Preloaded: after swheap.
        let exe = try Harness.compile("allocators.cpp", into: dir, extraFlags: linked ? [lib, "-ldl"] : ["-ldl"])
        let plainEnv = linked ? [:] : ["LD_PRELOAD": lib]
        let plain = try Harness.run(exe, [name], environment: plainEnv)
        XCTAssertEqual(plain.stdout, "allocators: \(name) owns 330 of 330 blocks\n", "without swheap: \(plain.stderr)")
        let dumps = dir.appendingPathComponent("dumps")
        var env = ["SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0", "SWHEAP_DIR": dumps.path]
        env["LD_PRELOAD"] = linked ? Harness.shim : "\(Harness.shim) \(lib)"
        let profiled = try Harness.run(exe, [name], environment: env)
        let label = "\(name) \(linked ? "linked" : "preloaded")"
        XCTAssertEqual(profiled.status, 0, "\(label): \(profiled.stderr)")
        XCTAssertEqual(profiled.stdout, plain.stdout, "\(label): the program must stay on its allocator")
        XCTAssertEqual(profiled.stderr, "", label)
        let heap = try XCTUnwrap(try HeapStore.load(directory: dumps.path).processes.first, label)
        XCTAssertTrue(heap.isFinal, label)
        try expectExactBooks(heap, exe, label)
    }

    func testJemallocIsKeptAndProfiled() throws {
        try check("jemalloc", linked: true)
        try check("jemalloc", linked: false)
    }

    func testTcmallocIsKeptAndProfiled() throws {
        try check("tcmalloc", linked: true)
        try check("tcmalloc", linked: false)
    }

    func testMimallocIsKeptAndProfiled() throws {
        try check("mimalloc", linked: true)
        try check("mimalloc", linked: false)
    }

    func testGlibcBooksAreExact() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("allocators.cpp", into: dir, extraFlags: ["-ldl"])
        let (result, store) = try Harness.profile(exe, ["glibc"], dumps: dir.appendingPathComponent("dumps"), rate: 1)
        XCTAssertEqual(result.stdout, "allocators: glibc owns 330 of 330 blocks\n", result.stderr)
        try expectExactBooks(try XCTUnwrap(store.processes.first), exe, "glibc")
    }

    /// libstdc++'s operator new keeps no frame pointer: with SWHEAP_UNWIND=fp the frame of
    /// the function calling new used to be lost, and the block blamed on its caller.
    func testFramePointerStacksKeepTheCallerOfNew() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("newdelete.cpp", into: dir)
        let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: 1,
                                                  extra: ["SWHEAP_UNWIND": "fp"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let sites = try XCTUnwrap(store.processes.first).figuresBySite(functions: try Harness.functions(of: exe))
        let widget = try XCTUnwrap(sites.first { $0.key.contains("site_new") && !$0.key.contains("array") }?.value,
                                   "new in site_new() was not blamed on site_new: \(sites)")
        XCTAssertEqual(widget, SiteFigures(allocObjects: 30, allocBytes: 1440, liveObjects: 20, liveBytes: 960))
        let array = try XCTUnwrap(sites.first { $0.key.contains("site_new_array") }?.value)
        XCTAssertEqual(array, SiteFigures(allocObjects: 8, allocBytes: 800, liveObjects: 0, liveBytes: 0))
    }
}
