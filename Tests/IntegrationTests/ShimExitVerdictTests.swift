// Exit verdicts against LeakSanitizer: each case of Tests/Fixtures/exit_verdicts.c runs under
// the real shim and, built with gcc's -fsanitize=leak, under LeakSanitizer; every site_* must
// be classed as the case expects by both.

import Foundation
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimExitVerdictTests: XCTestCase {
    /// The shim's default SWHEAP_RATE (config.c).
    static let defaultRate: UInt64 = 524_288

    struct Case {
        var arguments: [String]
        var leaked: Set<String>
        var kept: Set<String>
    }

    struct Built {
        var dir: URL
        var profiled: String
        var sanitized: String
        var tlsModule: String
    }

    override func setUpWithError() throws { try Harness.requireBuild() }

    private func build(_ name: String = #function) throws -> Built {
        let dir = try Harness.scratch(name)
        let lsanDir = dir.appendingPathComponent("lsan")
        try FileManager.default.createDirectory(at: lsanDir, withIntermediateDirectories: true)
        return Built(dir: dir,
                     profiled: try Harness.compile("exit_verdicts.c", into: dir, extraFlags: ["-ldl"]),
                     sanitized: try Harness.compile("exit_verdicts.c", into: lsanDir, extraFlags: ["-ldl", "-fsanitize=leak"]),
                     tlsModule: try Harness.compile("exit_verdicts_tls.c", into: dir, extraFlags: ["-shared", "-fPIC"]))
    }

    /// Sites LeakSanitizer reports as leaked (direct or indirect): the site_* functions in
    /// the stacks of its leak reports.
    private func sanitizerLeaks(_ built: Built, _ arguments: [String], environment: [String: String] = [:]) throws -> Set<String> {
        let result = try Harness.run(built.sanitized, arguments, environment: environment.merging(["LSAN_OPTIONS": "exitcode=0"]) { $1 })
        XCTAssertEqual(result.status, 0, result.stderr)
        var leaked = Set<String>(), inLeak = false
        for line in result.stderr.split(separator: "\n") {
            if line.hasPrefix("Direct leak") || line.hasPrefix("Indirect leak") { inLeak = true; continue }
            if !line.hasPrefix("    #") { inLeak = false; continue }
            if inLeak, let site = line.split(separator: " ").first(where: { $0.hasPrefix("site_") }) { leaked.insert(String(site)) }
        }
        return leaked
    }

    /// `referencedAllowed`: how much of a leaked site may read as referenced (0: none).
    private func check(_ c: Case, _ built: Built, rate: UInt64, environment: [String: String] = [:],
                       referencedAllowed: (_ live: Double) -> Double = { _ in 0 },
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let setting = environment.sorted { $0.key < $1.key }.map { $0.key + "=" + $0.value }
        let label = (setting + c.arguments).joined(separator: " ")
        let dumps = built.dir.appendingPathComponent("dumps-" + String(label.map { $0.isLetter || $0.isNumber ? $0 : "-" }))
        let (result, store) = try Harness.profile(built.profiled, c.arguments, dumps: dumps, rate: rate, extra: environment)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let process = try XCTUnwrap(store.processes.first, file: file, line: line)
        XCTAssertTrue(process.heapTraversed, "\(label): the scan fell back", file: file, line: line)
        let sites = process.figuresBySite(functions: try Harness.functions(of: built.profiled))
        // Empty blocks (malloc(0)) are charged no bytes: their figures are objects.
        func figures(_ f: SiteFigures) -> (live: Double, unreferenced: Double) {
            f.liveBytes > 0 ? (f.liveBytes, f.unreferencedBytes) : (f.liveObjects, f.unreferencedObjects)
        }
        for site in c.leaked {
            let f = try XCTUnwrap(sites[site], "\(label): \(site) sampled", file: file, line: line)
            XCTAssertGreaterThan(figures(f).live, 0, "\(label): \(site)", file: file, line: line)
            XCTAssertLessThanOrEqual(figures(f).live - figures(f).unreferenced, referencedAllowed(figures(f).live),
                                     "\(label): \(site) is leaked: \(f)", file: file, line: line)
        }
        for site in c.kept {
            let f = try XCTUnwrap(sites[site], "\(label): \(site) sampled", file: file, line: line)
            XCTAssertGreaterThan(figures(f).live, 0, "\(label): \(site)", file: file, line: line)
            XCTAssertEqual(figures(f).unreferenced, 0, "\(label): \(site) is still reachable: \(f)", file: file, line: line)
        }
        let lsan = try sanitizerLeaks(built, c.arguments, environment: environment)
        XCTAssertEqual(lsan.intersection(c.leaked.union(c.kept)), c.leaked,
                       "\(label): LeakSanitizer disagrees (it reports \(lsan.sorted()))", file: file, line: line)
    }

    /// LeakSanitizer's categories at rate 1 (every object sampled).
    func testCategoriesAgreeWithLeakSanitizer() throws {
        let built = try build()
        var cases = [
            Case(arguments: ["callee"], leaked: ["site_callee_dropped"], kept: []),
            Case(arguments: ["joined"], leaked: ["site_thread_stack_dropped", "site_thread_tls_dropped"], kept: []),
            Case(arguments: ["kept"], leaked: ["site_self", "site_cycle"],
                 kept: ["site_global", "site_static_tls", "site_pthread_key", "site_interior"]),
            Case(arguments: ["dynamic-tls", built.tlsModule], leaked: [], kept: ["site_global"]),
            Case(arguments: ["threads"], leaked: [], kept: ["site_live_stack", "site_register"]),
        ]
        // The block right before glibc's top chunk, in every size class mod 16.
        cases += (0..<16).map { Case(arguments: ["last", String($0)], leaked: ["site_last"], kept: []) }
        for c in cases { try check(c, built, rate: 1) }
    }

    /// Cases of compiler-rt's LeakSanitizer tests (Tests/Fixtures/lsan_cases.cpp) at rate 1.
    func testLeakSanitizerTestCasesAgree() throws {
        let dir = try Harness.scratch()
        let lsanDir = dir.appendingPathComponent("lsan")
        try FileManager.default.createDirectory(at: lsanDir, withIntermediateDirectories: true)
        let built = Built(dir: dir, profiled: try Harness.compile("lsan_cases.cpp", into: dir),
                          sanitized: try Harness.compile("lsan_cases.cpp", into: lsanDir, extraFlags: ["-fsanitize=leak"]),
                          tlsModule: "")
        let cases = [
            Case(arguments: ["malloc-zero"], leaked: ["site_zero_dropped"], kept: ["site_zero_kept"]),
            Case(arguments: ["swapcontext"], leaked: [], kept: ["site_coroutine_kept", "site_coroutine_stack"]),
            Case(arguments: ["new-array-0"], leaked: ["site_new_array_0_dropped"], kept: ["site_new_array_0_kept"]),
            Case(arguments: ["stale"], leaked: ["site_stale"], kept: []),
        ]
        for c in cases { try check(c, built, rate: 1) }

        // A leaked empty block is a finding of the report, though it holds no bytes.
        let dumps = dir.appendingPathComponent("dumps-malloc-zero")
        let json = try Harness.run(Harness.swheap, ["report", dumps.path, "--json", "--all", "--top", "1000"], environment: [:])
        XCTAssertEqual(json.status, 0, json.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let processes = try XCTUnwrap(report["processes"] as? [[String: Any]])
        let suspects = try XCTUnwrap(processes.first?["suspects"] as? [[String: Any]])
        func verdict(_ site: String) -> String? {
            suspects.first { ($0["site"] as? String)?.contains(site) == true }?["verdict"] as? String
        }
        XCTAssertEqual(verdict("site_zero_dropped"), "leaked-at-exit", json.stdout)
        XCTAssertNotEqual(verdict("site_zero_kept"), "leaked-at-exit", json.stdout)
        // The text table counts it, where "0 B" would read as nothing unreferenced.
        let text = try Harness.run(Harness.swheap, ["report", dumps.path, "--all", "--top", "1000"], environment: [:])
        XCTAssertEqual(text.status, 0, text.stderr)
        let row = try XCTUnwrap(text.stdout.split(separator: "\n").first { $0.contains("site_zero_dropped") && $0.contains("leaked-at-exit") },
                                text.stdout)
        XCTAssertTrue(row.contains("1 object"), String(row))
    }

    /// Ended by _exit or quick_exit (no LeakSanitizer check runs there): the dead frames are
    /// still those below the caller of the exit function.
    func testOtherExitsKeepTheVerdicts() throws {
        let built = try build()
        for how in ["_exit", "quick_exit"] { try checkOtherExit(how, built) }
    }

    private func checkOtherExit(_ how: String, _ built: Built, environment: [String: String] = [:],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let label = (environment.sorted { $0.key < $1.key }.map { $0.key + "=" + $0.value } + [how]).joined(separator: " ")
        let dumps = built.dir.appendingPathComponent(String(label.map { $0.isLetter || $0.isNumber ? $0 : "-" }))
        let (result, store) = try Harness.profile(built.profiled, ["callee", how], dumps: dumps, rate: 1, extra: environment)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let process = try XCTUnwrap(store.processes.first, label, file: file, line: line)
        XCTAssertTrue(process.heapTraversed, label, file: file, line: line)
        let f = try XCTUnwrap(process.figuresBySite(functions: try Harness.functions(of: built.profiled))["site_callee_dropped"], label,
                              file: file, line: line)
        XCTAssertGreaterThan(f.liveBytes, 0, label, file: file, line: line)
        XCTAssertEqual(f.unreferencedBytes, f.liveBytes, "\(label): \(f)", file: file, line: line)
    }

    /// The program's first blocks (`last`, `callee`) reuse whatever heap the shim's start-up
    /// freed, and main's frame lies where start-up's frames were: what overwrites that stack
    /// before main must not change a verdict. That is the dynamic linker's lazy-binding
    /// trampoline (libc's call of _dl_audit_preinit right before main), saving registers with
    /// XSAVEC (which skips registers in their initial state, in a CPU-dependent layout),
    /// XSAVE or FXSAVE; with LD_BIND_NOW nothing overwrites it, on any machine. A pointer to
    /// opendir's freed DIR, left there by start-up, was a root on AMD EPYC only; these
    /// settings put every machine through the variants, and through glibc's string functions
    /// for other CPUs.
    func testVerdictsDoNotDependOnTheLoaderOrTheCPU() throws {
        let built = try build()
        var settings: [[String: String]] = [["LD_BIND_NOW": "1"]]
        #if arch(x86_64)
        settings += [
            ["GLIBC_TUNABLES": "glibc.cpu.hwcaps=-XSAVEC"],
            ["GLIBC_TUNABLES": "glibc.cpu.hwcaps=-XSAVEC,-XSAVE"],
            ["GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX2,-ERMS,-FSRM"],
            ["LD_BIND_NOW": "1", "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX2,-ERMS,-FSRM"],
        ]
        #endif
        for environment in settings {
            var cases = [Case(arguments: ["callee"], leaked: ["site_callee_dropped"], kept: [])]
            cases += (0..<16).map { Case(arguments: ["last", String($0)], leaked: ["site_last"], kept: []) }
            for c in cases { try check(c, built, rate: 1, environment: environment) }
            for how in ["_exit", "quick_exit"] { try checkOtherExit(how, built, environment: environment) }
        }
    }

    /// Leaked structures at the default rate: unsampled objects are traversed, not trusted,
    /// so every sampled object of a dropped ring, list or tree is unreferenced, and every
    /// sampled object of a kept one is not.
    func testStructuresAtDefaultRate() throws {
        let built = try build()
        try check(Case(arguments: ["structures"],
                       leaked: ["site_ring_dropped", "site_list_dropped", "site_tree_dropped"],
                       kept: ["site_ring_kept", "site_list_kept", "site_tree_kept"]),
                  built, rate: Self.defaultRate)
    }

    /// A service's dropped rings and lists, among kept ones, freed ones, never-written buffers
    /// and churn: the sampled objects of dropped structures are unreferenced, every one of a
    /// kept structure is not. Stale copies of glibc's pointers to chunk headers (free lists'
    /// links, left in words never written since) must not reach the chunk before the one they
    /// name. At rate 1 (every node sampled; the same heap every run) 21 to 77 of some
    /// 190,000 dropped nodes still read as referenced (at most 0.05% of a site's bytes: issue
    /// 21's rings and lists). So at the default rate one sampled node of a dropped site may be
    /// among them (about 1 run in 200 per site and seed), never two.
    func testServiceStructuresAtDefaultRate() throws {
        let built = try build()
        let service = { (seed: Int) in
            Case(arguments: ["service", String(seed)], leaked: ["site_service_ring_dropped", "site_service_list_dropped"],
                 kept: ["site_service_ring_kept", "site_service_list_kept"])
        }
        // A sampled 64-byte node stands for rate x 64/65 bytes (504 KiB at the default rate).
        let oneNode = Double(Self.defaultRate) * 64 / 65 * 1.05
        for seed in 1...3 {
            try check(service(seed), built, rate: 1, referencedAllowed: { $0 * 0.001 })
            try check(service(seed), built, rate: Self.defaultRate, referencedAllowed: { _ in oneNode })
        }
    }

    /// Under another allocator (jemalloc, linked into the program) there are no glibc chunks
    /// to walk: the conservative scan runs, and the dump says so.
    func testOtherAllocatorFallsBack() throws {
        let jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
        guard FileManager.default.fileExists(atPath: jemalloc) else {
            throw HarnessError("\(jemalloc) is missing: `scripts/deps test` installs it")
        }
        let dir = try Harness.scratch()
        let exe = try Harness.compile("exit_verdicts.c", into: dir, extraFlags: [jemalloc, "-ldl"])
        let (result, store) = try Harness.profile(exe, ["kept"], dumps: dir.appendingPathComponent("dumps"), rate: 1)
        XCTAssertEqual(result.status, 0, result.stderr)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertTrue(process.isScanned)
        XCTAssertFalse(process.heapTraversed)
        XCTAssertEqual(process.epochs.last?.fallback, .otherAllocator, "the dump says why it fell back")
        let sites = process.figuresBySite(functions: try Harness.functions(of: exe))
        // The fallback errs one way only: what is kept is never called unreferenced.
        for site in ["site_global", "site_static_tls", "site_interior", "site_pthread_key"] {
            XCTAssertEqual(try XCTUnwrap(sites[site], site).unreferencedBytes, 0, site)
        }
    }

    /// The conservative scan reads every writable mapping: past SWHEAP_SCAN_MAX_BYTES it is
    /// skipped, the final dump says how much it would have read, the report says so in one
    /// line, and no verdict claims anything unreferenced.
    func testConservativeScanOverItsBudgetIsSkipped() throws {
        let jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
        guard FileManager.default.fileExists(atPath: jemalloc) else {
            throw HarnessError("\(jemalloc) is missing: `scripts/deps test` installs it")
        }
        let dir = try Harness.scratch()
        let exe = try Harness.compile("exit_verdicts.c", into: dir, extraFlags: [jemalloc, "-ldl"])
        let dumps = dir.appendingPathComponent("dumps")
        let (result, store) = try Harness.profile(exe, ["kept"], dumps: dumps, rate: 1, extra: ["SWHEAP_SCAN_MAX_BYTES": "65536"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "", "skipping is the report's to say, not the program's stderr")
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertFalse(process.isScanned)
        guard case .overBudget(let mebibytes)? = process.epochs.last?.scanSkipped else {
            return XCTFail("the final dump does not say the scan was skipped: \(String(describing: process.epochs.last?.scanSkipped))")
        }
        XCTAssertGreaterThanOrEqual(mebibytes, 1)
        let report = try Harness.run(Harness.swheap, ["report", dumps.path], environment: [:])
        XCTAssertEqual(report.status, 0, report.stderr)
        let line = report.stdout.split(separator: "\n").filter { $0.contains("exit scan:") }
        XCTAssertEqual(line.count, 1, report.stdout)
        XCTAssertTrue(line.first?.contains("skipped: the conservative scan would read \(mebibytes) MiB") ?? false, report.stdout)
        XCTAssertTrue(line.first?.contains("SWHEAP_SCAN_MAX_BYTES") ?? false, report.stdout)
    }

    /// A thread that blocks every signal cannot be stopped: the scan falls back to the
    /// conservative one, says so in the dump, and still finishes.
    func testUnstoppableThreadFallsBack() throws {
        let built = try build()
        let (result, store) = try Harness.profile(built.profiled, ["unstoppable"], dumps: built.dir.appendingPathComponent("dumps"), rate: 1)
        XCTAssertEqual(result.status, 0, result.stderr)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertTrue(process.isScanned)
        XCTAssertFalse(process.heapTraversed)
        let sites = process.figuresBySite(functions: try Harness.functions(of: built.profiled))
        XCTAssertEqual(try XCTUnwrap(sites["site_global"]).unreferencedBytes, 0)
        let report = try Harness.run(Harness.swheap, ["report", built.dir.appendingPathComponent("dumps").path], environment: [:])
        XCTAssertTrue(report.stdout.contains("exit scan: conservative fallback"), report.stdout)
        // Which thread: not the main one (its id is the pid), and the report names it.
        guard case .threadDidNotStop(let tid?) = process.epochs.last?.fallback else {
            return XCTFail("no thread recorded: \(String(describing: process.epochs.last?.fallback))")
        }
        XCTAssertNotEqual(Int32(tid), process.pid)
        XCTAssertTrue(report.stdout.contains("conservative fallback (thread \(tid) did not stop within 1 s"), report.stdout)
        let json = try Harness.run(Harness.swheap, ["report", built.dir.appendingPathComponent("dumps").path, "--json"], environment: [:])
        XCTAssertTrue(json.stdout.contains("\"scan_fallback\" : \"thread \(tid) did not stop"), json.stdout)
    }
}
