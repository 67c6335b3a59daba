// Who holds each block, and findings grouped by the heap, under the real preload (holders.c at
// rate 1, the exit scan): holder paths start at a named global (with the block between), a
// thread-local variable, a pthread key and a stack frame's function; a dropped list's head and nodes are one
// finding by their unreferenced structure; blocks of one owner are one finding whatever their
// callers; and two bugs under one request handler stay two findings.

import Foundation
import SwHeapTestSupport
import XCTest

final class HolderPathTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    private struct Report {
        var suspects: [String: [String: Any]]
        var roots: [[String: Any]]
        var rankOf: [String: Int]
        var text: String
        var html: String
        /// What the fixture printed: "done SESSIONS INDEXED key K far F".
        var output: [Substring]
    }

    private func profiled() throws -> Report {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("holders.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, _) = try Harness.profile(exe, ["2000"], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try Harness.run(Harness.swheap, ["report", "--json", "--all", dumps.path], environment: [:])
        XCTAssertEqual(json.status, 0, json.stderr)
        let process = try XCTUnwrap(((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["processes"]
            as? [[String: Any]])?.first, json.stdout)
        let listed = try XCTUnwrap(process["suspects"] as? [[String: Any]])
        let text = try Harness.run(Harness.swheap, ["report", "--all", dumps.path], environment: [:])
        XCTAssertEqual(text.status, 0, text.stderr)
        let page = dir.appendingPathComponent("report.html").path
        let html = try Harness.run(Harness.swheap, ["report", "--all", dumps.path, "--html", page], environment: [:])
        XCTAssertEqual(html.status, 0, html.stderr)
        return Report(suspects: Dictionary(listed.map { ($0["site"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a }),
                      roots: process["roots"] as? [[String: Any]] ?? [],
                      rankOf: Dictionary(listed.map { ($0["site"] as? String ?? "", $0["rank"] as? Int ?? 0) }, uniquingKeysWith: { a, _ in a }),
                      text: text.stdout, html: try String(contentsOfFile: page, encoding: .utf8),
                      output: result.stdout.split(separator: " "))
    }

    private func path(_ report: Report, _ site: String) throws -> [[String: Any]] {
        let entry = try XCTUnwrap(report.suspects[site], "\(site) listed")
        XCTAssertEqual(entry["unreferenced_bytes"] as? Int, 0, "\(site) is referenced")
        return try XCTUnwrap(entry["held_by"] as? [[String: Any]], "\(site): \(entry)")
    }

    func testHolderPathsNameAGlobalAThreadLocalAndAStackFrame() throws {
        let report = try profiled()

        // global cache_table -> the table make_cache_table calloc'd -> a site_cached block.
        let cached = try path(report, "site_cached")
        XCTAssertEqual(cached.count, 2, "\(cached)")
        XCTAssertEqual(cached[0]["kind"] as? String, "global")
        XCTAssertEqual(cached[0]["name"] as? String, "cache_table")
        XCTAssertEqual(cached[0]["module"] as? String, "holders")
        XCTAssertEqual(cached[1]["kind"] as? String, "heap")
        XCTAssertEqual(cached[1]["site"] as? String, "make_cache_table")
        XCTAssertEqual(cached[1]["size"] as? Int, 64, "8 pointers")
        let offset = try XCTUnwrap(cached[1]["offset"] as? Int)
        XCTAssertTrue(offset % 8 == 0 && offset < 64, "the slot of the block in the table: \(offset)")
        XCTAssertEqual(report.suspects["site_cached"]?["held_by_text"] as? String,
                       "global cache_table (holders) → make_cache_table block" + (offset > 0 ? " +\(offset)" : "") + " → this site")

        // The worker's thread-local request_scratch.
        let scratch = try path(report, "site_scratch")
        XCTAssertEqual(scratch.count, 1, "\(scratch)")
        XCTAssertEqual(scratch[0]["kind"] as? String, "tls")
        XCTAssertEqual(scratch[0]["name"] as? String, "request_scratch")
        XCTAssertEqual(scratch[0]["module"] as? String, "holders")
        let worker = try XCTUnwrap(scratch[0]["thread"] as? Int)

        // The worker's values of two pthread keys, one kept in its descriptor, one above 31 in a
        // block glibc allocates (named by the key, not as a step).
        for (site, key) in [("site_keyed", "key"), ("site_far_keyed", "far")] {
            let keyed = try path(report, site)
            let number = try XCTUnwrap(report.output.firstIndex(of: Substring(key)).map { report.output[$0 + 1] }, "\(report.output)")
            XCTAssertEqual(keyed.count, 1, "\(site): \(keyed)")
            XCTAssertEqual(keyed[0]["kind"] as? String, "pthread_key", "\(site): \(keyed)")
            XCTAssertEqual(keyed[0]["name"] as? String, number.trimmingCharacters(in: .whitespacesAndNewlines), site)
            XCTAssertEqual(keyed[0]["thread"] as? Int, worker)
        }

        // A local of hold_on_stack's frame, on the same worker's stack.
        let onStack = try path(report, "site_on_stack")
        XCTAssertEqual(onStack.count, 1, "\(onStack)")
        XCTAssertEqual(onStack[0]["kind"] as? String, "stack")
        XCTAssertEqual(onStack[0]["name"] as? String, "hold_on_stack")
        XCTAssertEqual(onStack[0]["thread"] as? Int, worker)

        // The HTML report prints the chain after each referenced site's reason.
        XCTAssertTrue(report.html.contains("held by thread-local request_scratch of thread \(worker) (holders) → this site"))
        XCTAssertTrue(report.html.contains("held by the stack of thread \(worker) (in hold_on_stack) → this site"))
        // What nothing holds has no holder.
        XCTAssertTrue(report.suspects["leak_dropped"]?["held_by"] is NSNull)
    }

    func testFindingsAreGroupedByTheHeapNotByTheCaller() throws {
        let report = try profiled()
        func root(with site: String) -> [String: Any]? {
            report.roots.first { ($0["sites"] as? [Int] ?? []).contains(report.rankOf[site] ?? -1) }
        }
        // The dropped list: head and nodes are one unreferenced structure.
        let list = try XCTUnwrap(root(with: "site_list_head"), "\(report.roots)")
        XCTAssertEqual(list["basis"] as? String, "component")
        XCTAssertEqual(Set(list["sites"] as? [Int] ?? []), Set([report.rankOf["site_list_head"], report.rankOf["site_list_node"]].compactMap { $0 }))
        // Sessions and streams share their owner (the registry's array), from different callers.
        let owned = try XCTUnwrap(root(with: "site_session"), "\(report.roots)")
        XCTAssertEqual(owned["basis"] as? String, "holder")
        XCTAssertEqual(Set(owned["sites"] as? [Int] ?? []), Set([report.rankOf["site_session"], report.rankOf["site_stream"]].compactMap { $0 }))
        // A dropped block and a global index grown by realloc, both under handle_request: two
        // bugs, so no one finding holds both (grouped by the caller, they were one).
        for site in ["leak_dropped", "grow_index"] {
            XCTAssertEqual(report.suspects[site]?["verdict"] as? String, "growing", "\(site): \(report.suspects[site] ?? [:])")
        }
        let dropped = root(with: "leak_dropped"), index = root(with: "grow_index")
        XCTAssertTrue(dropped == nil || index == nil || (dropped?["sites"] as? [Int]) != (index?["sites"] as? [Int]), "\(report.roots)")
        XCTAssertTrue(report.text.contains("in one unreferenced structure"), report.text)
    }
}
