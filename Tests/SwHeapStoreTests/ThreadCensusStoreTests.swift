// The THREADS section through real files: LoggedDumpWriter writes it as the shim does,
// HeapStore keeps it per epoch, ThreadRanker judges each creation site; older dumps without
// it still load (no census); a THREADS record naming a stack the log lacks is rejected.

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapRanking
@testable import SwHeapStore
@testable import SwHeapSymbols
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class ThreadCensusStoreTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws { directory = try Scratch.directory(name) }
    override func tearDownWithError() throws { Scratch.remove(directory) }

    static let stack = UInt64(8 << 20) + 4096

    /// Four creation sites over `epochs` dumps: stack 1 adds a thread that never ends per epoch,
    /// stack 2 adds a never-joined one per epoch, stack 3 is a pool of 4 filled over the first
    /// epochs, stack 4 a fixed set of 2 never-joined threads left from start-up.
    func dumps(epochs: Int, census: (Int) -> Bool = { _ in true }) -> [Dump] {
        (1...epochs).map { epoch in
            let e = UInt64(epoch)
            let sites = [
                ThreadSiteCount(stackID: 1, running: e, exitedUnjoined: 0, gone: 0, stackBytes: e * Self.stack),
                ThreadSiteCount(stackID: 2, running: 0, exitedUnjoined: e, gone: 3, stackBytes: e * Self.stack,
                                unjoinedBytes: e * Self.stack),
                ThreadSiteCount(stackID: 3, running: min(e, 4), exitedUnjoined: 0, gone: 0, stackBytes: min(e, 4) * Self.stack),
                ThreadSiteCount(stackID: 4, running: 0, exitedUnjoined: 2, gone: 0, stackBytes: 2 * 266_240,
                                unjoinedBytes: 2 * 266_240),
            ]
            let header = DumpHeader(isFinal: epoch == epochs, pid: 77, parentPID: 1, epoch: e,
                                    wallTimeNs: 1_000_000_000 * e, monotonicNs: 1_000_000_000 * e,
                                    startMonotonicNs: 0, rate: 524_288, maxDepth: 64)
            let stacks = (1...4).map { StackRecord(id: UInt32($0), frames: [UInt64(0x1000 * $0)], allocObjects: 0, allocBytes: 0) }
            return Dump(header: header, executable: "/bin/app", commandLine: ["/bin/app"],
                        modules: [Module(loadBias: 0, path: "/bin/app", buildID: [], segments: [])], stacks: stacks, live: [],
                        threads: census(epoch) ? ThreadCensus(tasks: UInt32(2 + e + min(e, 4)), beforeProfiling: 1,
                                                              untracked: 1, sites: sites) : nil)
        }
    }

    func write(_ dumps: [Dump]) throws {
        var writer = LoggedDumpWriter(directory: directory, deflated: true)
        for dump in dumps { try writer.write(dump) }
    }

    static var names: ClosureSiteNaming { ClosureSiteNaming { id, _ in StackNames(frames: [FrameName(function: "site_\(id)")]) } }

    func testCensusRoundTripsAndSitesAreJudged() throws {
        try write(dumps(epochs: 12))
        let store = try HeapStore.load(directory: directory)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertEqual(process.threads.count, 12)
        XCTAssertEqual(process.threads[4]?.sites.count, 4)
        XCTAssertEqual(process.threads[4]?.sites[1].unjoinedBytes, 5 * Self.stack)
        XCTAssertEqual(process.threads.last??.running, 12 + 4)

        let ranking = LeakRanker.ranking(process: process, names: Self.names)
        let threads = try XCTUnwrap(ranking.threads)
        let bySite = Dictionary(threads.sites.map { ($0.site, $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(bySite["site_1"]?.verdict, .growing, bySite["site_1"]?.reason ?? "")
        XCTAssertEqual(bySite["site_2"]?.verdict, .growing, bySite["site_2"]?.reason ?? "")
        XCTAssertTrue(bySite["site_2"]?.reason.contains("never joined: 12 stacks, 96 MiB") ?? false, bySite["site_2"]?.reason ?? "")
        XCTAssertEqual(bySite["site_3"]?.verdict, .plateau, bySite["site_3"]?.reason ?? "")
        XCTAssertEqual(bySite["site_4"]?.verdict, .neverJoined, bySite["site_4"]?.reason ?? "")
        XCTAssertTrue(bySite["site_4"]?.reason.contains("never joined: 2 stacks, 0.5 MiB") ?? false, bySite["site_4"]?.reason ?? "")
        XCTAssertEqual(bySite[ThreadRanker.untrackedSite]?.running, 1)
        XCTAssertEqual(threads.running, 12 + 4 + 1, "the sites' running threads and the untracked one")
        XCTAssertEqual(threads.exitedUnjoined, 12 + 2)
        XCTAssertEqual(threads.timeline.map(\.epoch), Array(1...12))
        XCTAssertEqual(threads.sites.prefix(2).map(\.verdict), [.growing, .growing], "growing sites first")
    }

    func testARiseOverFewEpochsIsNotYetGrowing() throws {
        try write(dumps(epochs: 6))
        let process = try XCTUnwrap(try HeapStore.load(directory: directory).processes.first)
        let threads = try XCTUnwrap(LeakRanker.ranking(process: process, names: Self.names).threads)
        XCTAssertEqual(threads.sites.first { $0.site == "site_1" }?.verdict, .tooFewEpochs)
    }

    /// Dumps of an older shim (no THREADS) load, and report no census.
    func testDumpsWithoutACensusStillLoad() throws {
        try write(dumps(epochs: 5, census: { _ in false }))
        let process = try XCTUnwrap(try HeapStore.load(directory: directory).processes.first)
        XCTAssertFalse(process.hasThreadCensus)
        XCTAssertNil(LeakRanker.ranking(process: process, names: Self.names).threads)
    }

    /// Epochs from before an upgrade (no census) and after: the census's epochs are judged.
    func testACensusFromSomeEpochsOnIsJudgedOnThose() throws {
        try write(dumps(epochs: 14, census: { $0 > 2 }))
        let process = try XCTUnwrap(try HeapStore.load(directory: directory).processes.first)
        let threads = try XCTUnwrap(LeakRanker.ranking(process: process, names: Self.names).threads)
        XCTAssertEqual(threads.timeline.count, 12)
        XCTAssertEqual(threads.sites.first { $0.site == "site_1" }?.verdict, .growing)
    }

    func testAThreadSiteOfAStackTheLogLacksIsRejected() throws {
        var bad = dumps(epochs: 1)
        bad[0].threads?.sites.append(ThreadSiteCount(stackID: 9, running: 1, exitedUnjoined: 0, gone: 0, stackBytes: 4096))
        try write(bad)
        XCTAssertThrowsError(try HeapStore.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("THREADS stack id"), "\(error)")
        }
    }

    func testUnsortedOrInconsistentRecordsAreRejected() throws {
        var bad = dumps(epochs: 1)
        bad[0].threads?.sites.swapAt(0, 1)
        try write(bad)
        XCTAssertThrowsError(try HeapStore.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("THREADS record 1"), "\(error)")
        }
    }
}
