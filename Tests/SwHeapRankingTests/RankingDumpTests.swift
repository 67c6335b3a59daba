// End to end through real dump files: DumpWriter writes a synthetic run, HeapStore loads it,
// LeakRanker ranks it. A leak, a FIFO cache and a start-up table in one process, plus a child.

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapOutput
@testable import SwHeapRanking
@testable import SwHeapStore
@testable import SwHeapSymbols
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class RankingDumpTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = try Scratch.directory(name)
    }

    override func tearDownWithError() throws {
        Scratch.remove(directory)
    }

    /// Stack 1 leaks 10 objects per epoch, stack 2 is a FIFO of 30 objects churning 10 per
    /// epoch, stack 3 is a table allocated in epoch 1. Exact counts (rate 1).
    func writeRun(pid: Int32, parent: Int32, epochs: Int, scanned: Bool) throws {
        for epoch in 1...epochs {
            var live: [LiveCell] = []
            for birth in 1...epoch {
                live.append(LiveCell(stackID: 1, birthEpoch: UInt32(birth), liveObjects: 10, liveBytes: 10_240,
                                       unreferencedObjects: 0, unreferencedBytes: 0))
            }
            for birth in max(1, epoch - 2)...epoch {
                live.append(LiveCell(stackID: 2, birthEpoch: UInt32(birth), liveObjects: 10, liveBytes: 10_240,
                                       unreferencedObjects: 0, unreferencedBytes: 0))
            }
            live.append(LiveCell(stackID: 3, birthEpoch: 1, liveObjects: 1, liveBytes: 50_000,
                                   unreferencedObjects: 0, unreferencedBytes: 0))
            let isFinal = epoch == epochs
            if isFinal && scanned {
                for index in live.indices where live[index].stackID == 1 {
                    live[index].unreferencedObjects = live[index].liveObjects
                    live[index].unreferencedBytes = live[index].liveBytes
                }
            }
            let header = DumpHeader(isFinal: isFinal, isScanned: isFinal && scanned, pid: pid, parentPID: parent,
                                    epoch: UInt64(epoch), wallTimeNs: 1_000_000_000 * UInt64(epoch),
                                    monotonicNs: 1_000_000_000 * UInt64(epoch), startMonotonicNs: 0, rate: 1, maxDepth: 64)
            let stacks = (1...3).map { id in
                StackRecord(id: UInt32(id), frames: [UInt64(0x1000 * id)], allocObjects: Double(10 * epoch),
                            allocBytes: Double(10_240 * epoch))
            }
            let dump = Dump(header: header, executable: "/bin/app", commandLine: ["/bin/app", "--serve"],
                            modules: [], stacks: stacks, live: live)
            _ = try DumpWriter.write(dump, toDirectory: directory)
        }
    }

    let names = ClosureSiteNaming { id, _ in
        StackNames(frames: [FrameName(function: ["leak_requests", "lru_insert", "load_tables"][Int(id) - 1] + "()")])
    }

    func testLeakRanksFirstInEveryProcess() throws {
        try writeRun(pid: 100, parent: 1, epochs: 12, scanned: true)
        try writeRun(pid: 101, parent: 100, epochs: 9, scanned: false)
        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.processes.map(\.pid).sorted(), [100, 101])
        for process in store.processes {
            let verdicts = LeakRanker.rank(process: process, names: names, suppressions: .builtIn)
            XCTAssertEqual(verdicts.first?.site, "leak_requests", "pid \(process.pid)")
            XCTAssertEqual(verdicts.first?.verdict, .growing)
            XCTAssertEqual(verdicts.first { $0.site == "lru_insert" }?.verdict, .plateau)
            XCTAssertEqual(verdicts.first { $0.site == "load_tables" }?.verdict, .stable)
        }
        let parent = try XCTUnwrap(store.process(pid: 100))
        let report = ProcessReport(process: parent, ranking: LeakRanker.ranking(process: parent, names: names))
        XCTAssertEqual(report.listed.first?.unreferencedBytes, 122_880)
        XCTAssertNil(report.evidenceNote)
    }

    func testSingleFinalDumpGivesExitTimeVerdicts() throws {
        try writeRun(pid: 200, parent: 1, epochs: 1, scanned: true)
        let process = try XCTUnwrap(HeapStore.load(directory: directory).process(pid: 200))
        let ranking = LeakRanker.ranking(process: process, names: names)
        XCTAssertTrue(ranking.isExitOnly)
        XCTAssertEqual(ranking.sites.first?.site, "leak_requests")
        XCTAssertEqual(ranking.sites.first?.verdict, .leakedAtExit)
        XCTAssertTrue(ranking.sites.dropFirst().allSatisfy { $0.verdict == .stable })
        let report = ProcessReport(process: process, ranking: ranking)
        XCTAssertTrue(report.evidenceNote?.contains("exit-time scan") ?? false)
    }
}
