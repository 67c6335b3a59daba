// The memory verdict as the report prints it: the Memory block of the table, the JSON object
// with its timeline (null for a figure not taken), and `memory: null` without MEMORY records.

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapSymbols
@testable import SwHeapTestSupport

final class ReportMemoryTests: XCTestCase {
    let mib: UInt64 = 1 << 20

    func retention() throws -> MemoryAssessment {
        let kept = MemoryPicture(allocator: .glibc, rssBytes: 134 * mib, fileBytes: 2 * mib, anonBytes: 132 * mib,
                                 inUseBytes: 1_645_088, freeBytes: 129 * mib, heldBytes: 131 * mib, arenas: 5,
                                 sampledLiveBytes: 1_190_524,
                                 figures: [AllocatorFigure(name: "arena", value: 130 * mib), AllocatorFigure(name: "keepcost", value: 4096),
                                           AllocatorFigure(name: "ordblks", value: 513)])
        let samples = (1...4).map { MemorySample(epoch: UInt64($0), elapsedSeconds: Double($0) * 10, picture: kept) }
        return try XCTUnwrap(MemoryAssessment.assess(samples, rate: 524_288, endsWithFinalDump: true))
    }

    func report(memory: MemoryAssessment?) -> ProcessReport {
        let (leak, timeline) = Scenario.steadyLeak.simulate()
        let names = ClosureSiteNaming { _, _ in StackNames(frames: [FrameName(function: "leak_slowly(int)")]) }
        let ranking = LeakRanker.ranking(timeline: timeline, sites: [leak], names: names)
        return ProcessReport(pid: 42, executable: "/bin/app", commandLine: ["/bin/app"], ranking: ranking, memory: memory)
    }

    func testTheTableHasAMemoryBlockAboveTheSuspects() throws {
        let text = ReportTable(style: ReportStyle(usesColour: false)).render(report(memory: try retention()))
        let lines = text.split(separator: "\n").map(String.init)
        let memory = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("  memory: retention: ") }, text)
        let table = try XCTUnwrap(lines.firstIndex { $0.contains("verdict") && $0.contains("site") }, text)
        XCTAssertLessThan(memory, table)
        XCTAssertTrue(lines[memory].hasSuffix("retention: 96% of RSS 134 MiB is memory freed but kept: glibc holds 129 MiB free "
                                              + "in 5 arenas for 1.6 MiB in use; not a leak"), lines[memory])
        XCTAssertTrue(lines[memory + 1].contains("RSS 134 MiB (anonymous 132 MiB, file/shared 2.0 MiB); glibc: 1.6 MiB in use, "
                                                 + "129 MiB free, 131 MiB held, 5 arenas; sampled heap 1.1 MiB (epoch 4)"), lines[memory + 1])
        XCTAssertTrue(text.contains("    - malloc_trim(0) after phases that free a lot"), text)
        XCTAssertTrue(text.contains("    - MALLOC_ARENA_MAX=2: 5 arenas"), text)
        let without = ReportTable(style: ReportStyle(usesColour: false)).render(report(memory: nil))
        XCTAssertFalse(without.contains("memory:"))
    }

    func testJSONHasTheVerdictFiguresAdviceAndTimeline() throws {
        let text = ReportJSON.render([report(memory: try retention())])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let process = try XCTUnwrap((object["processes"] as? [[String: Any]])?.first)
        let memory = try XCTUnwrap(process["memory"] as? [String: Any])
        XCTAssertEqual(memory["verdict"] as? String, "retention")
        XCTAssertEqual(memory["allocator"] as? String, "glibc")
        XCTAssertEqual(memory["rss_bytes"] as? Int, 134 << 20)
        XCTAssertEqual(memory["allocator_in_use_bytes"] as? Int, 1_645_088)
        XCTAssertEqual(memory["allocator_free_bytes"] as? Int, 129 << 20)
        XCTAssertEqual(memory["allocator_held_bytes"] as? Int, 131 << 20)
        XCTAssertEqual(memory["allocator_arenas"] as? Int, 5)
        XCTAssertEqual(memory["heap_estimate_bytes"] as? Int, 1_190_524)
        XCTAssertEqual(memory["epoch"] as? Int, 4)
        XCTAssertTrue(memory["mapped_bytes"] is NSNull, "direct mappings are not sampled: null, not 0")
        XCTAssertEqual((memory["allocator_figures"] as? [String: Int])?["keepcost"], 4096)
        let advice = try XCTUnwrap(memory["advice"] as? [String])
        XCTAssertTrue(advice.contains { $0.hasPrefix("MALLOC_ARENA_MAX=2") }, "\(advice)")
        let timeline = try XCTUnwrap(memory["timeline"] as? [[String: Any]])
        XCTAssertEqual(timeline.count, 4)
        XCTAssertEqual(timeline[0]["epoch"] as? Int, 1)
        XCTAssertEqual(timeline[0]["elapsed_s"] as? Double, 10)
        XCTAssertEqual(timeline[0]["rss_bytes"] as? Int, 134 << 20)
        for key in ["verdict", "reason", "advice", "live_heap_bytes", "live_heap_source", "retained_bytes", "outside_heap_bytes",
                    "heap_growth_bytes_per_s", "explained_by_suspects", "anon_bytes", "file_bytes"] {
            XCTAssertNotNil(memory[key], key)
        }
    }

    /// Several processes: the summary has a memory column, and a process whose only finding is
    /// its memory (retention, no suspect) is detailed.
    func testASummaryShowsTheMemoryVerdictAndDetailsRetention() throws {
        let (cache, timeline) = Scenario.boundedCache.simulate()
        let names = ClosureSiteNaming { _, _ in StackNames(frames: [FrameName(function: "Cache::put(int)")]) }
        let ranking = LeakRanker.ranking(timeline: timeline, sites: [cache], names: names)
        XCTAssertTrue(ranking.suspects.isEmpty)
        let kept = ProcessReport(pid: 7, executable: "/bin/kept", commandLine: ["kept"], ranking: ranking, memory: try retention())
        let quiet = ProcessReport(pid: 8, executable: "/bin/quiet", commandLine: ["quiet"], ranking: ranking)
        let text = ReportTable(style: ReportStyle(usesColour: false)).render([kept, quiet])
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].contains("top verdict  memory"), text)
        XCTAssertTrue(lines.contains { $0.contains(" 7 ") && $0.contains("retention") && $0.contains("kept") }, text)
        XCTAssertTrue(lines.contains { $0.contains(" 8 ") && $0.contains(" - ") && $0.contains("quiet") }, text)
        XCTAssertTrue(text.contains("1 process(es) without findings not detailed"), text)
        XCTAssertTrue(text.contains("pid 7: kept"), text)
        XCTAssertFalse(text.contains("pid 8: quiet"), text)
    }

    func testWithoutMemoryRecordsTheKeyIsNull() {
        XCTAssertTrue(ReportJSON.render([report(memory: nil)]).contains("\"memory\" : null"))
    }

    func testAFigureNotTakenIsNullNotZero() throws {
        let picture = MemoryPicture(allocator: .unknown, rssBytes: 10 * mib, sampledLiveBytes: 1000)
        let m = try XCTUnwrap(MemoryAssessment.assess([MemorySample(epoch: 1, elapsedSeconds: 1, picture: picture)], rate: 1,
                                                      endsWithFinalDump: true))
        let text = ReportJSON.render([report(memory: m)])
        XCTAssertTrue(text.contains("\"allocator_in_use_bytes\" : null"), text)
        XCTAssertTrue(text.contains("\"anon_bytes\" : null"), text)
        XCTAssertTrue(text.contains("allocator figures: not available (allocator unknown)"), text)
        let table = ReportTable(style: ReportStyle(usesColour: false)).render(report(memory: m))
        XCTAssertTrue(table.contains("allocator figures: not available (allocator unknown)"), table)
    }
}
