// Sites in every language, with readable names, end to end under the real preload: a Rust
// service and a C++ service built on their standard containers each grow a registry of
// sessions beside a bounded cache, and the report must name the registering function as the
// growing site (never a standard-library frame, never a mangled name), and the cache not. And
// stripped binaries: names come from .dynsym and MiniDebugInfo, and a frame nothing names
// says so, with its nearest named caller.

import Foundation
import SwHeapTestSupport
import XCTest

final class LanguageSiteTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    struct Suspect: Decodable {
        var rank: Int
        var site: String
        var verdict: String
        var stack: [String]
    }
    struct Process: Decodable { var suspects: [Suspect] }
    struct Report: Decodable { var processes: [Process] }

    private func report(_ dumps: URL) throws -> [Suspect] {
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--json", "--all", "--top", "100"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        return try XCTUnwrap(report.processes.first).suspects.sorted { $0.rank < $1.rank }
    }

    private func summary(_ suspects: [Suspect]) -> String {
        suspects.map { "\($0.rank) \($0.verdict) \($0.site)" }.joined(separator: "\n")
    }

    /// Left undone by a demangler: mangled prefixes, Rust's escapes and hashes.
    private func looksMangled(_ name: String) -> Bool {
        if name.hasPrefix("_Z") || name.hasPrefix("_R") || name.contains("$LT$") || name.contains("$u20$") { return true }
        guard let hash = name.range(of: "::h", options: .backwards) else { return false }
        let rest = name[hash.upperBound...].prefix(17)
        return rest.count >= 16 && rest.prefix(16).allSatisfy(\.isHexDigit)
    }

    private func assertRegistryGrowsAndCacheDoesNot(_ suspects: [Suspect], registry: String, cache: String,
                                                    file: StaticString = #filePath, line: UInt = #line) {
        let text = summary(suspects)
        let growing = suspects.filter { $0.verdict == "growing" && $0.rank <= 3 }
        XCTAssertTrue(growing.contains { $0.site.contains(registry) }, "\(registry) is growing:\n\(text)", file: file, line: line)
        XCTAssertTrue(suspects.first?.verdict == "growing", text, file: file, line: line)
        for site in suspects where site.site.contains(cache) {
            XCTAssertNotEqual(site.verdict, "growing", "the bounded cache is not a leak:\n\(text)", file: file, line: line)
        }
        for site in suspects {
            XCTAssertFalse(looksMangled(site.site), "readable site name: \(site.site)", file: file, line: line)
            for frame in site.stack {
                XCTAssertFalse(looksMangled(frame), "readable frame: \(frame)", file: file, line: line)
            }
        }
    }

    func testRustServiceNamesTheLeakingFunctionNotTheStandardLibrary() throws {
        guard ProgramRunner.exists("rustc") else {
            print("SKIPPED: rustc is not installed (Debian: apt-get install rustc)")
            throw XCTSkip("rustc is not installed")
        }
        // Legacy mangling (rustc's default for the program's own code) and v0.
        for mangling in ["legacy", "v0"] {
            let dir = try Harness.scratch("rust" + mangling)
            let exe = dir.appendingPathComponent("sessions").path
            let flags = ["-g", "-C", "opt-level=1", "-C", "force-frame-pointers=yes"]
                + (mangling == "v0" ? ["-C", "symbol-mangling-version=v0"] : [])
            let build = try Harness.run("rustc", flags + [Harness.fixtures.appendingPathComponent("sessions.rs").path, "-o", exe],
                                        environment: [:])
            if build.status != 0, mangling == "v0", build.stderr.contains("unstable") {
                print("SKIPPED: this rustc has no stable v0 mangling: \(build.stderr)")
                continue
            }
            XCTAssertEqual(build.status, 0, build.stderr)
            let dumps = dir.appendingPathComponent("dumps")
            let (run, _) = try Harness.profile(exe, ["40", "25"], dumps: dumps, rate: 1, interval: 0.05)
            XCTAssertEqual(run.status, 0, run.stderr)
            let suspects = try report(dumps)
            assertRegistryGrowsAndCacheDoesNot(suspects, registry: "open_session", cache: "Cache")
            let library = ["alloc::", "core::", "std::", "hashbrown::", "<alloc::", "<core::", "<std::", "<hashbrown::", "__rust"]
            for site in suspects where library.contains(where: site.site.hasPrefix) {
                XCTFail("\(mangling): a standard-library frame is a site: \(site.site)\n\(summary(suspects))")
            }
        }
    }

    func testCxxServiceSitesAreReadable() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("registry.cpp", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (run, _) = try Harness.profile(exe, ["40", "25"], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(run.status, 0, run.stderr)
        let suspects = try report(dumps)
        assertRegistryGrowsAndCacheDoesNot(suspects, registry: "service::SessionRegistry::open", cache: "LruCache")
        for site in suspects where site.site.hasPrefix("std::") || site.site.hasPrefix("operator new") {
            XCTFail("a standard-library frame is a site: \(site.site)\n\(summary(suspects))")
        }
        let registry = try XCTUnwrap(suspects.first { $0.site == "service::SessionRegistry::open" })
        XCTAssertTrue(registry.stack.contains { $0.contains("std::make_shared<service::Session") },
                      "make_shared reads as a template:\n\(registry.stack.joined(separator: "\n"))")
    }

    /// wrapped.c, stripped of everything but what a distribution keeps: its exported symbols
    /// (.dynsym), or a MiniDebugInfo section.
    func testStrippedBinariesAreNamedFromDynsymAndMiniDebugInfo() throws {
        for variant in ["dynsym", "minidebuginfo"] {
            let dir = try Harness.scratch("stripped" + variant)
            let exe = try Harness.compile("wrapped.c", into: dir, extraFlags: variant == "dynsym" ? ["-rdynamic"] : [])
            if variant == "minidebuginfo" { try addMiniDebugInfo(exe, in: dir) }
            try ProgramRunner.output("strip", ["--strip-all", exe])
            if variant == "minidebuginfo" {
                try ProgramRunner.output("objcopy", ["--add-section", ".gnu_debugdata=" + dir.appendingPathComponent("mini.xz").path, exe])
            }
            XCTAssertFalse(try ProgramRunner.output("readelf", ["-S", exe]).contains(".symtab"), "\(variant): really stripped")
            let dumps = dir.appendingPathComponent("dumps")
            let (run, _) = try Harness.profile(exe, ["40", "25"], dumps: dumps, rate: 1, interval: 0.05)
            XCTAssertEqual(run.status, 0, run.stderr)
            let suspects = try report(dumps)
            XCTAssertEqual(suspects.first?.site, "createClient (via zmalloc)", "\(variant):\n\(summary(suspects))")
            XCTAssertEqual(suspects.first?.verdict, "growing", "\(variant):\n\(summary(suspects))")
        }
    }

    /// Fedora's recipe: the functions .dynsym lacks, in an xz-compressed ELF of symbols only.
    private func addMiniDebugInfo(_ exe: String, in dir: URL) throws {
        let path = { (name: String) in dir.appendingPathComponent(name).path }
        let functions = try ProgramRunner.output("nm", ["--format=posix", "--defined-only", exe])
            .split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                return fields.count >= 2 && "Tt".contains(fields[1]) ? String(fields[0]) : nil
            }
        try functions.joined(separator: "\n").write(toFile: path("keep"), atomically: true, encoding: .utf8)
        try ProgramRunner.output("objcopy", ["--only-keep-debug", exe, path("debug")])
        try ProgramRunner.output("objcopy", ["-S", "--remove-section", ".gdb_index", "--remove-section", ".comment",
                                             "--keep-symbols=" + path("keep"), path("debug"), path("mini")])
        try ProgramRunner.output("xz", ["--keep", "--force", path("mini")])
    }

    /// A stripped library whose leaking function is static: nothing names it, so the site is its
    /// address, said to have no symbol, with the exported function that called it.
    func testAFrameNothingNamesShowsItsNearestNamedCaller() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("scenarios.c", into: dir, extraFlags: ["-ldl"])
        let lib = dir.appendingPathComponent("libleaky.so").path
        let build = try Harness.run("cc", ["-O1", "-g", "-fno-omit-frame-pointer", "-shared", "-fPIC",
                                           Harness.fixtures.appendingPathComponent("leaky.c").path, "-o", lib],
                                    environment: [:])
        XCTAssertEqual(build.status, 0, build.stderr)
        try ProgramRunner.output("strip", ["--strip-all", lib])
        let dumps = dir.appendingPathComponent("dumps")
        let (run, _) = try Harness.profile(exe, ["40", "25", lib], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(run.status, 0, run.stderr)
        let suspects = try report(dumps)
        let site = try XCTUnwrap(suspects.first { $0.site.hasPrefix("libleaky.so+0x") }, summary(suspects))
        XCTAssertTrue(site.site.hasSuffix(" (no symbol; called from leaky_step)"), site.site)
        XCTAssertEqual(site.verdict, "growing", summary(suspects))
    }
    /// A server installed as a link to another program's file (Debian's redis-server is a link
    /// to redis-check-rdb): its module is named after the path it was started from.
    func testTheExecutableIsNamedAfterThePathItWasStartedFrom() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let link = dir.appendingPathComponent("server").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: exe)
        let dumps = dir.appendingPathComponent("dumps")
        let (run, store) = try Harness.profile(link, ["4", "10"], dumps: dumps, rate: 1, interval: 0)
        XCTAssertEqual(run.status, 0, run.stderr)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertEqual(process.modules.first?.path, link, "named as started, not as /proc/self/exe resolves it")
        let result = try Harness.run(Harness.swheap, ["report", dumps.path, "--json", "--all"], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("site_leak"), "and symbolised through the link:\n\(result.stdout)")
    }
}
