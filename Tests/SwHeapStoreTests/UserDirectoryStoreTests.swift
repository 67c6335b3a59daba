// The store over a tree a root master and its workers wrote (docs/FORMAT.md, "Users and
// notes"): SWHEAP_DIR and its uid-<N> directories read as one, notes of processes that left
// no dump after changing user, and the epoch shown by default (ShownEpoch).

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapStore
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class UserDirectoryStoreTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try Scratch.directory(name) }
    override func tearDownWithError() throws { Scratch.remove(directory) }

    private func write(pid: Int32, epoch: UInt64, start: UInt64 = 0, final: Bool = false, bytes: Double = 100,
                       into sub: String? = nil) throws {
        let target = sub.map { directory + "/" + $0 } ?? directory
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let header = DumpHeader(isFinal: final, isScanned: final, pid: pid, parentPID: 1, epoch: epoch, wallTimeNs: epoch,
                                monotonicNs: start + 1_000_000_000 * (epoch + 1), startMonotonicNs: start + 1_000_000_000,
                                rate: 1, maxDepth: 32)
        let stacks = [StackRecord(id: 1, frames: [0x1000, 0x2000], allocObjects: Double(epoch), allocBytes: 100 * Double(epoch))]
        let live = bytes > 0 ? [LiveCell(stackID: 1, birthEpoch: 1, liveObjects: 1, liveBytes: bytes)] : []
        let dump = Dump(header: header, executable: "/usr/sbin/server", commandLine: ["server"], modules: [], stacks: stacks, live: live)
        _ = try DumpWriter.write(dump, toDirectory: target)
    }

    private func note(pid: Int32, epoch: UInt64, start: UInt64, errors: [String] = []) throws {
        let text = "swheap-note 1\npid \(pid)\ncommand server\nstart_ns \(start + 1_000_000_000)\nepoch \(epoch)\nuid 0 65534\ndir uid-65534\n"
            + errors.map { "error \($0)\n" }.joined()
        try text.write(toFile: directory + "/\(pid).\(String(format: "%06d", epoch)).note", atomically: true, encoding: .utf8)
    }

    func testAnImageSplitAcrossTheUserDirectoryIsOneProcess() throws {
        try write(pid: 10, epoch: 1)                                  // the master
        try write(pid: 10, epoch: 2, final: true)
        try write(pid: 20, epoch: 1, start: 5)                        // a worker, before its switch
        try write(pid: 20, epoch: 2, start: 5, into: "uid-65534")     // and after
        try write(pid: 20, epoch: 3, start: 5, final: true, into: "uid-65534")
        try write(pid: 30, epoch: 1, into: "uid-x")                   // not a user directory
        try FileManager.default.createSymbolicLink(atPath: directory + "/uid-7", withDestinationPath: directory + "/uid-x")
        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.processes.map(\.pid).sorted(), [10, 20])
        let worker = try XCTUnwrap(store.process(pid: 20))
        XCTAssertEqual(worker.epochs.map(\.epoch), [1, 2, 3])
        XCTAssertTrue(worker.isFinal)
        XCTAssertEqual(worker.files.map { ($0 as NSString).deletingLastPathComponent.hasSuffix("uid-65534") }, [false, true, true])
        XCTAssertEqual(store.silentProcesses, [])
    }

    func testNotedProcessesWithoutALaterDumpAreListedWithTheirErrors() throws {
        try write(pid: 10, epoch: 1, final: true)
        try note(pid: 20, epoch: 1, start: 5)                         // wrote after its switch: not listed
        try write(pid: 20, epoch: 1, start: 5, into: "uid-65534")
        try note(pid: 30, epoch: 2, start: 7, errors: ["13 65534 cannot write epoch 2 to /d/uid-65534: Permission denied; fix it"])
        try write(pid: 30, epoch: 1, start: 7)                        // only before the switch
        try note(pid: 40, epoch: 1, start: 9)                         // nothing at all, no error
        try "not a note".write(toFile: directory + "/50.000001.note", atomically: true, encoding: .utf8)
        let silent = try HeapStore.load(directory: directory).silentProcesses
        XCTAssertEqual(silent.map(\.note.pid), [30, 40])
        XCTAssertEqual(silent[0].reason, "errno 13 as uid 65534: cannot write epoch 2 to /d/uid-65534: Permission denied; fix it")
        XCTAssertEqual(silent[0].note.toUID, 65534)
        XCTAssertEqual(silent[0].note.epoch, 2)
        XCTAssertTrue(silent[1].reason.contains("no error was recorded"), silent[1].reason)
        XCTAssertTrue(silent[1].line.hasPrefix("pid 40 (server): changed from uid 0 to uid 65534 at epoch 1"), silent[1].line)
    }

    func testTheShownEpochIsTheHeapBeforeAnExitTeardown() throws {
        try write(pid: 10, epoch: 1, bytes: 1000)
        try write(pid: 10, epoch: 2, bytes: 5000)
        try write(pid: 10, epoch: 3, final: true, bytes: 16)          // freed at exit
        try write(pid: 20, epoch: 1, bytes: 1000)
        try write(pid: 20, epoch: 2, final: true, bytes: 900)         // kept its heap
        try write(pid: 30, epoch: 1, bytes: 1000)
        try write(pid: 30, epoch: 2, bytes: 10)                       // still running, or killed
        try write(pid: 40, epoch: 1, final: true, bytes: 0)           // only a final dump
        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.process(pid: 10)?.shownEpoch, ShownEpoch(index: 1, kind: .beforeTeardown(finalIndex: 2)))
        XCTAssertEqual(store.process(pid: 20)?.shownEpoch, ShownEpoch(index: 1, kind: .finalDump))
        XCTAssertEqual(store.process(pid: 30)?.shownEpoch, ShownEpoch(index: 1, kind: .latest))
        XCTAssertEqual(store.process(pid: 40)?.shownEpoch, ShownEpoch(index: 0, kind: .finalDump))
        // What pprof loads by default: the last two epochs, enough to see the teardown.
        let newest = try HeapStore.load(directory: directory, selection: .newest(count: 2, also: []))
        XCTAssertEqual(newest.process(pid: 10)?.epochs.map(\.epoch), [2, 3])
        XCTAssertEqual(newest.process(pid: 10)?.shownEpoch.index, 0)
    }
}
