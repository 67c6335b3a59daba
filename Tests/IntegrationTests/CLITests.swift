// The command line tool on real dumps and on bad input: one-line errors, non-zero exits,
// nothing the user had is touched. And the shim's own linkage.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class CLITests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    private func realDumps() throws -> URL {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, _) = try Harness.profile(exe, ["10", "20"], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        return dumps
    }

    func testDumpsListsEveryEpoch() throws {
        let dumps = try realDumps()
        let heap = try XCTUnwrap(try HeapStore.load(directory: dumps.path).processes.first)
        let result = try Harness.run(Harness.swheap, ["dumps", dumps.path], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = result.stdout.split(separator: "\n").dropFirst() // header
        XCTAssertEqual(rows.count, heap.epochs.count, result.stdout)
        XCTAssertTrue(rows.last?.contains("final") ?? false, result.stdout)
        XCTAssertTrue(rows.allSatisfy { $0.contains(String(heap.pid)) }, result.stdout)
    }

    func testCorruptDumpGivesOneLineErrorNamingTheFile() throws {
        let dumps = try realDumps()
        let files = try FileManager.default.contentsOfDirectory(atPath: dumps.path).filter { $0.hasSuffix(".swheap") }.sorted()
        let victim = dumps.appendingPathComponent(try XCTUnwrap(files.first))
        let original = try Data(contentsOf: victim)
        try original.prefix(original.count / 2).write(to: victim) // truncated
        let before = try Data(contentsOf: victim)
        // pprof reads only the epochs it writes: the damaged one.
        let epoch = String(try XCTUnwrap(UInt64(victim.lastPathComponent.split(separator: ".")[1])))
        for command in [["dumps"], ["report"],
                        ["pprof", "--epoch", epoch, "-o", dumps.deletingLastPathComponent().appendingPathComponent("x.pb.gz").path]] {
            let result = try Harness.run(Harness.swheap, [command[0], dumps.path] + command.dropFirst(), environment: [:])
            XCTAssertNotEqual(result.status, 0, "\(command[0]) must fail")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(command[0]): \(result.stderr)")
            XCTAssertTrue(lines.first?.contains(victim.lastPathComponent) ?? false, "\(command[0]): \(result.stderr)")
        }
        XCTAssertEqual(try Data(contentsOf: victim), before, "the tool never rewrites a dump")
    }

    func testMissingDirectoryAndForeignFiles() throws {
        let missing = try Harness.run(Harness.swheap, ["dumps", "/nonexistent/swheap.dir"], environment: [:])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/swheap.dir"), missing.stderr)

        let dir = try Harness.scratch()
        try Data("not a dump".utf8).write(to: dir.appendingPathComponent("123.000001.swheap"))
        let foreign = try Harness.run(Harness.swheap, ["dumps", dir.path], environment: [:])
        XCTAssertNotEqual(foreign.status, 0)
        XCTAssertTrue(foreign.stderr.contains("123.000001.swheap"), foreign.stderr)
        XCTAssertFalse(foreign.stderr.contains("Fatal error"), foreign.stderr)

        let badFlag = try Harness.run(Harness.swheap, ["report", dir.path, "--top", "many"], environment: [:])
        XCTAssertNotEqual(badFlag.status, 0)
    }

    /// The preload library must not drag the Swift runtime or libstdc++ into every process.
    /// The C runtime, libunwind and zlib (Debian's libz.so.1, for format v2's deflated dumps).
    func testShimLinksOnlyTheCRuntimeLibunwindAndZlib() throws {
        let result = try Harness.run("readelf", ["-d", Harness.shim], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let needed = result.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
            .compactMap { $0.split(separator: "[").last?.split(separator: "]").first.map(String.init) }
        XCTAssertFalse(needed.isEmpty)
        let allowed = ["libc.so", "libunwind.so", "libm.so", "libdl.so", "libpthread.so", "librt.so", "ld-linux", "libz.so"]
        for lib in needed {
            XCTAssertTrue(allowed.contains { lib.hasPrefix($0) }, "libswheap.so needs \(lib)")
        }
        let symbols = try Harness.run("nm", ["-D", "--defined-only", Harness.shim], environment: [:])
        let exported = Set(symbols.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        let cxx = ["_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t",
                   "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
                   "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
                   "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
                   "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t"]
        // The thread census's entry points (Sources/CSwHeapPreload/threads.c).
        let threads = ["pthread_create", "pthread_join", "pthread_tryjoin_np", "pthread_timedjoin_np", "pthread_clockjoin_np",
                       "pthread_detach"]
        // and for swheap attach (docs/ATTACH.md): its entry point and its control state
        let attach = ["swheap_attach", "swheap_attach_control"]
        XCTAssertEqual(exported, Set(["malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
                                      "aligned_alloc", "memalign", "valloc", "pvalloc", "_exit", "_Exit", "dlopen",
                                      "setuid", "seteuid", "setreuid", "setresuid"] + cxx + threads + attach),
                       "the allocator, exit and dlopen hooks, the user changes (credentials.c), the thread census and attach")
    }
}
