// Format v2 through real files: LoggedDumpWriter writes epoch files and a stack log as the
// shim does, HeapStore and the ranker read them. v1 and v2 of the same run give the same
// figures and verdicts; a thinned directory ranks the same leak first; an incomplete last
// epoch is skipped with one warning; a torn log tail is ignored; the watcher reads only
// what changed (counted in bytes, not timed).

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapRanking
@testable import SwHeapStore
@testable import SwHeapSymbols
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class FormatV2StoreTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = try Scratch.directory(name)
    }

    override func tearDownWithError() throws {
        Scratch.remove(directory)
    }

    enum Format { case v1, v2(deflated: Bool) }

    /// The run of RankingDumpTests, longer so that v2 cohorts coarsen: stack 1 leaks 10 objects
    /// per epoch, stack 2 is a FIFO of 30 objects churning 10 per epoch, stack 3 a start-up table.
    func dumps(pid: Int32, epochs: Int) -> [Dump] {
        (1...epochs).map { epoch in
            var live: [LiveCell] = []
            let isFinal = epoch == epochs
            for birth in 1...epoch {
                live.append(LiveCell(stackID: 1, birthEpoch: UInt32(birth), liveObjects: 10, liveBytes: 10_240,
                                     unreferencedObjects: isFinal ? 10 : 0, unreferencedBytes: isFinal ? 10_240 : 0))
            }
            for birth in max(1, epoch - 2)...epoch {
                live.append(LiveCell(stackID: 2, birthEpoch: UInt32(birth), liveObjects: 10, liveBytes: 10_240))
            }
            live.append(LiveCell(stackID: 3, birthEpoch: 1, liveObjects: 1, liveBytes: 50_000))
            let header = DumpHeader(isFinal: isFinal, isScanned: isFinal, pid: pid, parentPID: 1, epoch: UInt64(epoch),
                                    wallTimeNs: 1_000_000_000 * UInt64(epoch), monotonicNs: 1_000_000_000 * UInt64(epoch),
                                    startMonotonicNs: 0, rate: 1, maxDepth: 64)
            let stacks = (1...3).map { id in
                StackRecord(id: UInt32(id), frames: [UInt64(0x1000 * id), 0x99], allocObjects: Double(10 * epoch),
                            allocBytes: Double(10_240 * epoch))
            }
            return Dump(header: header, executable: "/bin/app", commandLine: ["/bin/app"],
                        modules: [Module(loadBias: 0x1000, path: "/bin/app", buildID: [1, 2], segments: [])],
                        stacks: stacks, live: live)
        }
    }

    @discardableResult
    func write(_ dumps: [Dump], format: Format, into directory: String) throws -> [String] {
        switch format {
        case .v1:
            return try dumps.map { try DumpWriter.write($0, toDirectory: directory) }
        case .v2(let deflated):
            var writer = LoggedDumpWriter(directory: directory, deflated: deflated)
            return try dumps.map { try writer.write($0) }
        }
    }

    let names = ClosureSiteNaming { id, _ in
        StackNames(frames: [FrameName(function: id <= 3 ? ["leak_requests", "lru_insert", "load_tables"][Int(id) - 1] + "()"
                                                       : "site\(id)()")])
    }

    func verdicts(_ process: ProcessHeap) -> [String] {
        LeakRanker.rank(process: process, names: names, suppressions: .builtIn).map { "\($0.site) \($0.verdict)" }
    }

    // MARK: v1 and v2 agree

    func testVersion1AndVersion2GiveTheSameStoreAndVerdicts() throws {
        let run = dumps(pid: 300, epochs: 40)
        var stores: [ProcessHeap] = []
        for format in [Format.v1, .v2(deflated: true), .v2(deflated: false)] {
            let dir = try Scratch.directory("v2agree")
            defer { Scratch.remove(dir) }
            try write(run, format: format, into: dir)
            let store = try HeapStore.load(directory: dir)
            XCTAssertTrue(store.warnings.isEmpty)
            stores.append(try XCTUnwrap(store.process(pid: 300)))
        }
        let v1 = stores[0]
        XCTAssertEqual(verdicts(v1).first, "leak_requests growing")
        for v2 in stores.dropFirst() {
            XCTAssertEqual(v2.epochs.map(\.epoch), v1.epochs.map(\.epoch))
            XCTAssertEqual(v2.modules, v1.modules)
            XCTAssertEqual(v2.totals, v1.totals)
            for (a, b) in zip(v1.sites, v2.sites) {
                XCTAssertEqual(a.frames, b.frames)
                XCTAssertEqual(a.allocBytes, b.allocBytes)
                XCTAssertEqual(a.liveBytes, b.liveBytes)
                XCTAssertEqual(a.unreferencedBytes, b.unreferencedBytes)
            }
            // Old births are coarsened into cohorts in v2 (fewer cells), and survival still works.
            XCTAssertLessThan(v2.sites[0].births.count, v1.sites[0].births.count)
            XCTAssertEqual(verdicts(v2), verdicts(v1))
        }
    }

    func testAnEpochFileStandsAloneWithItsLog() throws {
        let run = dumps(pid: 301, epochs: 20)
        let paths = try write(run, format: .v2(deflated: true), into: directory)
        // Everything but epoch 9 and the log removed: epoch 9 still reads whole.
        for (i, path) in paths.enumerated() where i != 8 { try FileManager.default.removeItem(atPath: path) }
        let dump = try DumpReader.read(path: paths[8])
        XCTAssertEqual(dump.header.version, 2)
        XCTAssertEqual(dump.stacks, run[8].stacks)
        XCTAssertEqual(dump.modules, run[8].modules)
        XCTAssertEqual(dump.live, DumpWriter.cohorts(of: run[8].live, epoch: 9))
        let store = try HeapStore.load(directory: directory, selection: .epochs([9], andNewest: false))
        XCTAssertEqual(store.processes.first?.epochs.map(\.epoch), [9])
        XCTAssertEqual(store.processes.first?.sites.first?.allocBytes, [10_240 * 9])
    }

    // MARK: Bounded timeline and thinning

    func testThinnedDirectoryRanksTheSameLeakFirst() throws {
        // One leak among caches, churn and start-up tables; then three leaks of different speeds.
        for leakChances in [[0.06], [0.09, 0.05, 0.03]] {
            let dir = try Scratch.directory("thinned")
            defer { Scratch.remove(dir) }
            try checkThinning(leakChances: leakChances, directory: dir)
        }
    }

    private func checkThinning(leakChances: [Double], directory: String) throws {
        var service = ServiceProcess(pid: 400, epochCount: 700, stackCount: 400, depth: 6, leakChances: leakChances)
        var writer = LoggedDumpWriter(directory: directory)
        var paths: [String] = []
        for _ in 1...700 { paths.append(try writer.write(service.nextDump())) }
        let naming = ClosureSiteNaming { id, _ in StackNames(frames: [FrameName(function: "site\(id)()")]) }
        func ranked(_ process: ProcessHeap) -> [(site: String, verdict: Verdict)] {
            LeakRanker.rank(process: process, names: naming, suppressions: .builtIn).map { ($0.site, $0.verdict) }
        }
        let leaks = Set(leakChances.indices.map { "site\($0 + 1)" })
        let whole = ranked(try XCTUnwrap(HeapStore.load(directory: directory).process(pid: 400)))
        let wholeText = whole.prefix(8).map { "\($0.site) \($0.verdict)" }.joined(separator: "\n")
        XCTAssertEqual(Set(whole.prefix(leaks.count).map(\.site)), leaks, wholeText)
        XCTAssertTrue(whole.prefix(leaks.count).allSatisfy { $0.verdict == .growing }, wholeText)

        // Thinned as SWHEAP_KEEP=256 would (recent = 16): 700 files become about 100.
        for (i, path) in paths.enumerated()
        where !Cohort.retentionKeeps(epoch: UInt64(i + 1), newest: 700, recent: 16) {
            try FileManager.default.removeItem(atPath: path)
        }
        let thinned = try XCTUnwrap(HeapStore.load(directory: directory).process(pid: 400))
        XCTAssertLessThan(thinned.epochs.count, 120)
        XCTAssertEqual(thinned.epochs.first?.epoch, 1)
        let after = ranked(thinned)
        let afterText = after.prefix(8).map { "\($0.site) \($0.verdict)" }.joined(separator: "\n")
        if leaks.count == 1 {
            XCTAssertEqual(after.first?.site, whole.first?.site, "the same leak first:\n\(afterText)")
        }
        XCTAssertEqual(Set(after.prefix(leaks.count).map(\.site)), leaks, afterText)
        XCTAssertTrue(after.prefix(leaks.count).allSatisfy { $0.verdict == .growing }, afterText)
        XCTAssertFalse(after.dropFirst(leaks.count).contains { $0.verdict == .growing || $0.verdict == .leakedAtExit },
                       afterText)
    }

    func testTheTimelineInMemoryIsBounded() throws {
        try write(dumps(pid: 302, epochs: 300), format: .v2(deflated: true), into: directory)
        let process = try XCTUnwrap(HeapStore.load(directory: directory, selection: .timeline(recent: 16)).process(pid: 302))
        let kept = (1...300).filter { Cohort.retentionKeeps(epoch: UInt64($0), newest: 300, recent: 16) }
        XCTAssertEqual(process.epochs.map(\.epoch), kept.map(UInt64.init))
        XCTAssertLessThan(process.epochs.count, 90)
        // The cumulative figures of a kept epoch come from the log, whatever was skipped.
        XCTAssertEqual(process.sites[0].allocBytes.last, 10_240 * 300)
        XCTAssertEqual(verdicts(process).first, "leak_requests growing")
    }

    // MARK: Incomplete files

    func testTruncatedLastEpochIsSkippedWithOneWarning() throws {
        for format in [Format.v1, .v2(deflated: true), .v2(deflated: false)] {
            let dir = try Scratch.directory("truncated")
            defer { Scratch.remove(dir) }
            let paths = try write(dumps(pid: 303, epochs: 6), format: format, into: dir)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: paths[5]))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: paths[5]))
            let store = try HeapStore.load(directory: dir)
            XCTAssertEqual(store.processes.first?.epochs.map(\.epoch), [1, 2, 3, 4, 5])
            XCTAssertEqual(store.warnings.count, 1)
            let warning = try XCTUnwrap(store.warnings.first)
            XCTAssertTrue(warning.hasPrefix("skipped \(paths[5])"), warning)
            XCTAssertFalse(warning.contains("\n"))

            // A truncated epoch in the middle is damage, not a writer killed mid-write.
            let middle = try Data(contentsOf: URL(fileURLWithPath: paths[2]))
            try middle.prefix(middle.count / 2).write(to: URL(fileURLWithPath: paths[2]))
            XCTAssertThrowsError(try HeapStore.load(directory: dir)) { error in
                XCTAssertTrue("\(error)".hasPrefix(paths[2] + ": "), "\(error)")
            }
        }
    }

    func testTornLogTailIsIgnoredAndACutLogSkipsTheLastEpoch() throws {
        let paths = try write(dumps(pid: 304, epochs: 5), format: .v2(deflated: true), into: directory)
        let log = directory + "/304.000001.log"
        let whole = try Data(contentsOf: URL(fileURLWithPath: log))
        // A chunk header and part of a body that no epoch file names: a writer killed mid-chunk.
        var torn = whole
        torn.append(contentsOf: [6, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0x78, 0x9c, 1])
        try torn.write(to: URL(fileURLWithPath: log))
        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.processes.first?.epochs.count, 5)
        XCTAssertTrue(store.warnings.isEmpty)

        // The log cut inside epoch 5's chunk: epoch 5 is incomplete, skipped with a warning.
        try whole.prefix(whole.count - 10).write(to: URL(fileURLWithPath: log))
        let cut = try HeapStore.load(directory: directory)
        XCTAssertEqual(cut.processes.first?.epochs.map(\.epoch), [1, 2, 3, 4])
        XCTAssertEqual(cut.warnings.count, 1)
        XCTAssertTrue(cut.warnings[0].contains(paths[4]) && cut.warnings[0].contains("the log was cut"), cut.warnings[0])
    }

    // MARK: The watcher

    func testTheWatcherReadsOnlyNewFilesAndNewLogChunks() throws {
        let run = dumps(pid: 305, epochs: 8)
        var writer = LoggedDumpWriter(directory: directory)
        var paths: [String] = []
        for dump in run.prefix(5) { paths.append(try writer.write(dump)) }
        var watcher = HeapStoreWatcher(directory: directory)
        let log = directory + "/305.000001.log"
        func size(_ path: String) throws -> UInt64 {
            try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).uint64Value
        }
        let first = try watcher.refresh()
        XCTAssertEqual(first.newFiles, 5)
        let header = UInt64(DumpLayout.headerSize)
        XCTAssertEqual(first.bytesRead, try paths.reduce(0) { $0 + header + (try size($1)) } + (try size(log)))

        let again = try watcher.refresh()
        XCTAssertEqual(again.newFiles, 0)
        XCTAssertEqual(again.bytesRead, 0)
        XCTAssertEqual(again.store.processes.first?.epochs.count, 5)

        let logBefore = try size(log)
        for dump in run.suffix(3) { paths.append(try writer.write(dump)) }
        let later = try watcher.refresh()
        XCTAssertEqual(later.newFiles, 3)
        let newFiles = try paths.suffix(3).reduce(0) { $0 + header + (try size($1)) }
        XCTAssertEqual(later.bytesRead, newFiles + (try size(log)) - logBefore, "only the new files and the log's new chunks")
        let process = try XCTUnwrap(later.store.process(pid: 305))
        XCTAssertEqual(process.epochs.count, 8)
        let loaded = try XCTUnwrap(HeapStore.load(directory: directory).process(pid: 305))
        XCTAssertEqual(process.totals, loaded.totals)
        XCTAssertEqual(verdicts(process), verdicts(loaded))
    }
}
