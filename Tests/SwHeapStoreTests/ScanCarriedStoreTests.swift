// The SCAN section through real files: the verdicts of a live scan ride in every later dump,
// so a store that never loads the scan's own epoch (thinned by retention or by the bounded
// timeline) still judges by them; a failed try without earlier verdicts gives none; a SCAN
// record that breaks a rule is rejected with the field named.

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapRanking
@testable import SwHeapStore
@testable import SwHeapSymbols
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class ScanCarriedStoreTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws { directory = try Scratch.directory(name) }
    override func tearDownWithError() throws { Scratch.remove(directory) }

    static let scanEpoch: UInt64 = 5

    /// Two stacks, flat at 64 KiB each over `epochs` dumps of a process that never exits; a live
    /// scan in epoch 5 found stack 1 wholly unreferenced and stack 2 referenced, carried from
    /// then on. `scan` replaces the record (a failed try).
    func dumps(epochs: Int, scan: ScanRecord? = nil) -> [Dump] {
        (1...epochs).map { epoch in
            let e = UInt64(epoch)
            var header = DumpHeader(pid: 91, parentPID: 1, epoch: e, wallTimeNs: 1_000_000_000 * e,
                                    monotonicNs: 1_000_000_000 * e, startMonotonicNs: 0, rate: 1, maxDepth: 64)
            let scanned = e == Self.scanEpoch && scan == nil
            header.isScanned = scanned
            header.heapTraversed = scanned
            let stacks = (1...2).map { StackRecord(id: UInt32($0), frames: [UInt64(0x1000 * $0)], allocObjects: 64, allocBytes: 65536) }
            let live = (1...2).map { id in
                LiveCell(stackID: UInt32(id), birthEpoch: 1, liveObjects: 64, liveBytes: 65536,
                         unreferencedObjects: scanned && id == 1 ? 64 : 0, unreferencedBytes: scanned && id == 1 ? 65536 : 0)
            }
            var dump = Dump(header: header, executable: "/bin/svc", commandLine: ["/bin/svc"],
                            modules: [Module(loadBias: 0, path: "/bin/svc", buildID: [], segments: [])], stacks: stacks, live: live)
            if e >= Self.scanEpoch {
                dump.header.scan = scan ?? ScanRecord(wallNs: 5_000_000_000, pauseNs: 4_000_000, durationNs: 190_000_000,
                                                      isLive: true, epoch: Self.scanEpoch, cpuMicroseconds: 150_000)
                if scan == nil {
                    dump.scanSites = [
                        LiveCell(stackID: 1, birthEpoch: 0, liveObjects: 64, liveBytes: 65536, unreferencedObjects: 64, unreferencedBytes: 65536),
                        LiveCell(stackID: 2, birthEpoch: 0, liveObjects: 64, liveBytes: 65536),
                    ]
                }
            }
            return dump
        }
    }

    func write(_ dumps: [Dump]) throws {
        var writer = LoggedDumpWriter(directory: directory, deflated: true)
        for dump in dumps { try writer.write(dump) }
    }

    static var names: ClosureSiteNaming { ClosureSiteNaming { id, _ in StackNames(frames: [FrameName(function: "site_\(id)")]) } }

    func testVerdictsComeFromTheCarriedScanWhenItsEpochIsNotLoaded() throws {
        try write(dumps(epochs: 12))
        // Only the newest epoch: the scan's own (5) is not among them.
        let store = try HeapStore.load(directory: directory, selection: .newest(count: 1, also: []))
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertNil(process.epochIndex(ofEpoch: Self.scanEpoch))
        XCTAssertNil(process.scannedEpochIndex, "no loaded epoch is the scan's")
        let scan = try XCTUnwrap(process.scan)
        XCTAssertTrue(scan.foundVerdicts)
        XCTAssertEqual(scan.record.epoch, Self.scanEpoch)
        XCTAssertEqual(scan.record.cpuMicroseconds, 150_000)
        XCTAssertEqual(scan.unreferencedBytes, 65536)
        XCTAssertEqual(process.sites.first { $0.stackID == 1 }?.atScan?.unreferencedBytes, 65536)

        let ranking = LeakRanker.ranking(process: process, names: Self.names)
        let byName = Dictionary(ranking.sites.map { ($0.site, $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(byName["site_1"]?.verdict, .leakedAtExit, "\(String(describing: byName["site_1"]?.assessment))")
        XCTAssertEqual(byName["site_1"]?.unreferencedBytes, 65536)
        XCTAssertEqual(byName["site_1"]?.assessment.liveScanEpoch, Self.scanEpoch)
        XCTAssertEqual(byName["site_2"]?.unreferencedBytes, 0)
        XCTAssertNotEqual(byName["site_2"]?.verdict, .leakedAtExit)
        XCTAssertTrue(ranking.timeline.isScanned)
    }

    func testTheWholeTimelineJudgesTheSame() throws {
        try write(dumps(epochs: 12))
        let store = try HeapStore.load(directory: directory, selection: .all)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertEqual(process.scannedEpochIndex, process.epochIndex(ofEpoch: Self.scanEpoch))
        let ranking = LeakRanker.ranking(process: process, names: Self.names)
        let site = try XCTUnwrap(ranking.sites.first { $0.site == "site_1" })
        XCTAssertEqual(site.verdict, .leakedAtExit, "\(site.assessment)")
        XCTAssertEqual(site.unreferencedBytes, 65536)
    }

    func testAFailedTryWithoutEarlierVerdictsGivesNone() throws {
        let failed = ScanRecord(wallNs: 5_000_000_000, pauseNs: 0, durationNs: 1_000_000, isLive: true, fallback: .copyFailed,
                                epoch: Self.scanEpoch)
        try write(dumps(epochs: 12, scan: failed))
        let process = try XCTUnwrap(try HeapStore.load(directory: directory).processes.first)
        let scan = try XCTUnwrap(process.scan)
        XCTAssertFalse(scan.foundVerdicts)
        XCTAssertEqual(scan.record.fallback, .copyFailed)
        let ranking = LeakRanker.ranking(process: process, names: Self.names)
        XCTAssertFalse(ranking.timeline.isScanned)
        XCTAssertNil(ranking.sites.first?.unreferencedBytes)
    }

    /// Holders with their path steps, and components, through real files into the store's sites.
    func testHoldersPathsAndComponentsReachTheSites() throws {
        var written = dumps(epochs: 6)
        let path = [ScanStep(index: 0, blockStack: 2, address: 0x5000, size: 64, offset: 8),
                    ScanStep(index: 1, blockStack: nil, address: 0x6000, size: 32, offset: 16)]
        for index in 4...5 {
            written[index].scanHolders = [ScanHolder(stackID: 2, kind: .tls, thread: 77, blocksBetween: 2, address: 0x7f00,
                                                     context: 0x4010, steps: path)]
            written[index].scanComponents = [1: [3, 9]]
        }
        try write(written)
        let process = try XCTUnwrap(try HeapStore.load(directory: directory).processes.first)
        let held = try XCTUnwrap(process.sites.first { $0.stackID == 2 }?.heldBy)
        XCTAssertEqual(held.kind, .tls)
        XCTAssertEqual(held.thread, 77)
        XCTAssertEqual(held.context, 0x4010)
        XCTAssertEqual(held.steps, path)
        XCTAssertEqual(process.sites.first { $0.stackID == 1 }?.unreferencedComponents, [3, 9])
        XCTAssertEqual(process.sites.first { $0.stackID == 2 }?.unreferencedComponents, [])
    }

    func testAStepOfNoListedHolderIsRejected() {
        let step = RawStep(stack_id: 3, index: 0, block_stack: 0, reserved: 0, address: 0x5000, size: 64, offset: 8)
        XCTAssertNil(DumpValidation.checkStep(step, index: 0, holders: [3: 0]))
        let problem = DumpValidation.checkStep(step, index: 0, holders: [2: 0])
        XCTAssertTrue("\(String(describing: problem))".contains("SCAN step 0 stack"), "\(String(describing: problem))")
    }

    func testAScanRecordFromTheFutureIsRejected() throws {
        var bad = dumps(epochs: 6)
        bad[5].header.scan?.epoch = 9  // after the dump's own epoch 6
        try write(bad)
        XCTAssertThrowsError(try HeapStore.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("SCAN epoch"), "\(error)")
        }
    }
}
