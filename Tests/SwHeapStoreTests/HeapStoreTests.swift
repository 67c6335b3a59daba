// HeapStore over real directories written with DumpWriter.

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapStore
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class HeapStoreTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = try Scratch.directory(name)
    }

    override func tearDownWithError() throws {
        Scratch.remove(directory)
    }

    // MARK: Aggregation

    func testSitesAcrossEpochs() throws {
        // Stack 1 from epoch 1; stack 2 appears in epoch 2; epoch 3 is final and scanned.
        try write(pid: 50, epoch: 1, stacks: [stack(1, objects: 1, bytes: 100)],
                  live: [live(1, born: 1, objects: 1, bytes: 100)])
        try write(pid: 50, epoch: 2, stacks: [stack(1, objects: 3, bytes: 300), stack(2, objects: 1, bytes: 64)],
                  live: [live(1, born: 2, objects: 2, bytes: 200), live(1, born: 1, objects: 1, bytes: 100),
                         live(2, born: 2, objects: 1, bytes: 64)])
        try write(pid: 50, epoch: 3, final: true, scanned: true,
                  stacks: [stack(1, objects: 4, bytes: 400), stack(2, objects: 2, bytes: 128)],
                  live: [live(1, born: 1, objects: 1, bytes: 100, unreferenced: 1)])

        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.processes.count, 1)
        let process = try XCTUnwrap(store.process(pid: 50))
        XCTAssertEqual(process.epochs.map(\.epoch), [1, 2, 3])
        XCTAssertEqual(process.lastEpochIndex, 2)
        XCTAssertTrue(process.isFinal)
        XCTAssertTrue(process.isScanned)
        XCTAssertEqual(process.epochs[1].elapsedSeconds, 2, accuracy: 1e-9)
        XCTAssertEqual(process.sites.map(\.stackID), [1, 2])

        let one = process.sites[0], two = process.sites[1]
        XCTAssertEqual(one.frames, [0x1000 + 1, 0x2000])
        XCTAssertEqual(one.allocBytes, [100, 300, 400])
        XCTAssertEqual(two.allocBytes, [0, 64, 128], "zero before the stack existed")
        XCTAssertEqual(two.allocObjects, [0, 1, 2])
        XCTAssertEqual(one.liveBytes, [100, 300, 100])
        XCTAssertEqual(one.liveObjects, [1, 3, 1])
        XCTAssertEqual(two.liveBytes, [0, 64, 0])
        XCTAssertEqual(one.unreferencedBytes, [0, 0, 100])
        XCTAssertEqual(one.liveBytes[1], 300)
        XCTAssertEqual(one.allocBytes[2] - one.allocBytes[1], 100)

        XCTAssertEqual(process.totals[1].liveBytes, 364)
        XCTAssertEqual(process.totals[2].allocBytes, 528)
        XCTAssertEqual(process.totals[1].allocBytes - process.totals[0].allocBytes, 264)
        XCTAssertEqual(process.totals.map(\.stackCount), [1, 2, 2])
        XCTAssertEqual(process.totals[2].unreferencedBytes, 100)
    }

    func testBirthsAreSortedByEpochIndexThenBirthEpoch() throws {
        try write(pid: 7, epoch: 1, stacks: [stack(1)], live: [live(1, born: 1, objects: 1, bytes: 10)])
        try write(pid: 7, epoch: 2, stacks: [stack(1)],
                  live: [live(1, born: 2, objects: 2, bytes: 20), live(1, born: 1, objects: 1, bytes: 10)])
        let site = try HeapStore.load(directory: directory).processes[0].sites[0]
        XCTAssertEqual(site.births.map(\.epochIndex), [0, 1, 1])
        XCTAssertEqual(site.births.map(\.birthEpoch), [1, 1, 2])
        XCTAssertEqual(site.births(at: 1).map(\.liveBytes), [10, 20])
        XCTAssertEqual(site.births(at: 0).count, 1)
        XCTAssertEqual(site.births(at: 5).count, 0)
    }

    func testEpochGapsAndNumericOrder() throws {
        // Epochs past 999999 outgrow the zero padding; order must stay numeric.
        for epoch: UInt64 in [2, 1_000_000, 9, 1] {
            try write(pid: 3, epoch: epoch, stacks: [stack(1, bytes: Double(epoch))])
        }
        let process = try HeapStore.load(directory: directory, selection: .all).processes[0]
        XCTAssertEqual(process.epochs.map(\.epoch), [1, 2, 9, 1_000_000])
        // The bounded timeline keeps the first and the newest of so sparse a run.
        XCTAssertEqual(try HeapStore.load(directory: directory).processes[0].epochs.map(\.epoch), [1, 1_000_000])
        XCTAssertEqual(process.epochIndex(ofEpoch: 9), 2)
        XCTAssertNil(process.epochIndex(ofEpoch: 3))
        XCTAssertEqual(process.files[0], directory + "/3.000001.swheap")
    }

    func testStackMissingFromALaterDumpKeepsItsCumulativeFigure() throws {
        try write(pid: 3, epoch: 1, stacks: [stack(1, objects: 2, bytes: 20)])
        try write(pid: 3, epoch: 2, stacks: [stack(2)])
        let process = try HeapStore.load(directory: directory).processes[0]
        XCTAssertEqual(process.sites[0].allocBytes, [20, 20])
        XCTAssertEqual(process.totals[1].allocBytes, 20 + 16)
    }

    func testForkedChildIsItsOwnProcess() throws {
        try write(pid: 100, parent: 1, epoch: 1, wall: 10, stacks: [stack(1, bytes: 100)])
        try write(pid: 100, parent: 1, epoch: 2, wall: 20, final: true, stacks: [stack(1, bytes: 200)])
        try write(pid: 101, parent: 100, epoch: 1, wall: 15, stacks: [stack(1, bytes: 5)], executable: "/bin/child")
        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.processes.map(\.pid), [100, 101])
        let child = try XCTUnwrap(store.process(pid: 101))
        XCTAssertEqual(child.parentPID, 100)
        XCTAssertEqual(child.executable, "/bin/child")
        XCTAssertEqual(child.commandLine, ["/bin/child", "arg"])
        XCTAssertEqual(child.epochs.count, 1)
        XCTAssertFalse(child.isFinal)
        XCTAssertEqual(child.sites[0].allocBytes, [5])
        XCTAssertEqual(store.process(pid: 100)?.sites[0].allocBytes, [100, 200])
    }

    func testExecWithoutForkIsASeparateImageOfTheSamePID() throws {
        // A wrapper script (image A, epochs 1-4) execs the real program (image B), whose shim
        // restarts at epoch 1 and overwrites A's first two files.
        for epoch: UInt64 in 3...4 {
            try write(pid: 7, epoch: epoch, wall: epoch, start: 100, stacks: [stack(1, bytes: 1000)], executable: "/bin/sh")
        }
        for epoch: UInt64 in 1...2 {
            try write(pid: 7, epoch: epoch, wall: 10 + epoch, start: 900, stacks: [stack(1, bytes: Double(epoch))])
        }
        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.processes.map(\.pid), [7, 7])
        XCTAssertEqual(store.processes.map(\.executable), ["/bin/sh", "/usr/bin/app"])
        XCTAssertEqual(store.processes[0].epochs.map(\.epoch), [3, 4])
        XCTAssertEqual(store.processes[1].sites[0].allocBytes, [1, 2])
        XCTAssertEqual(store.process(pid: 7)?.executable, "/usr/bin/app", "the latest image")
    }

    func testModulesAreTheUnionLatestWinning() throws {
        let exe = module("/usr/bin/app", bias: 0x1000, id: 1)
        let plugin = module("/usr/lib/plugin.so", bias: 0x9000, id: 2)
        var rebuiltExe = exe
        rebuiltExe.buildID = [9, 9]
        try write(pid: 4, epoch: 1, stacks: [stack(1)], modules: [exe, plugin])
        try write(pid: 4, epoch: 2, stacks: [stack(1)], modules: [rebuiltExe])
        let process = try HeapStore.load(directory: directory).processes[0]
        XCTAssertEqual(process.modules, [rebuiltExe, plugin], "dlclose'd plugin kept, same path+bias replaced")
        XCTAssertEqual(process.modules.last { $0.contains(0x9000 + 0x10) }?.path, "/usr/lib/plugin.so")
        XCTAssertNil(process.modules.last { $0.contains(0x50) })
    }

    // MARK: Which files count

    func testIgnoresTemporariesDotFilesAndOtherNames() throws {
        try write(pid: 8, epoch: 1, stacks: [stack(1)])
        for name in [".8.2.tmp", ".hidden.000001.swheap", "8.000002.swheap.tmp", "notes.txt", "8.x.swheap", "8.2.pprof"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data("junk".utf8)))
        }
        let process = try HeapStore.load(directory: directory).processes[0]
        XCTAssertEqual(process.epochs.map(\.epoch), [1])
    }

    // MARK: Errors name the path

    func testMissingDirectory() {
        assertLoadError(directory + "/nope", .missingDirectory)
    }

    func testNotADirectory() throws {
        let path = try write(pid: 8, epoch: 1, stacks: [])
        assertLoadError(path, .notADirectory)
    }

    func testDirectoryWithoutDumps() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/.1.1.tmp", contents: Data()))
        assertLoadError(directory, .noDumps)
    }

    func testBadFileIsNamed() throws {
        try write(pid: 8, epoch: 1, stacks: [stack(1)])
        let bad = directory + "/8.000002.swheap"
        XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: Data("SWHEAPD1".utf8)))
        // As the last epoch it is what a writer killed mid-write leaves: skipped, with a warning.
        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.processes[0].epochs.map(\.epoch), [1])
        XCTAssertEqual(store.warnings, ["skipped \(bad), the incomplete last epoch of its process: "
                                        + DumpError.Problem.truncatedHeader(size: 8).description])
        try write(pid: 8, epoch: 3, stacks: [stack(1)])
        XCTAssertThrowsError(try HeapStore.load(directory: directory)) { error in
            XCTAssertEqual((error as? DumpError)?.path, bad)
            XCTAssertEqual((error as? DumpError)?.problem, .truncatedHeader(size: 8))
        }
    }

    func testManyEpochsAndProcessesAcrossDecodeBatches() throws {
        for pid: Int32 in [20, 21, 22] {
            for epoch: UInt64 in 1...13 {
                try write(pid: pid, parent: pid == 20 ? 1 : 20, epoch: epoch, wall: epoch * 10 + UInt64(pid),
                          stacks: [stack(1, bytes: Double(epoch)), stack(UInt32(epoch) + 1, bytes: 1)],
                          live: [live(1, born: UInt32(epoch), objects: 1, bytes: Double(pid))])
            }
        }
        let store = try HeapStore.load(directory: directory)
        XCTAssertEqual(store.processes.map(\.pid), [20, 21, 22])
        for process in store.processes {
            XCTAssertEqual(process.epochs.map(\.epoch), Array(1...13))
            XCTAssertEqual(process.sites.count, 14)
            XCTAssertEqual(process.sites[0].allocBytes, EpochSeries((1...13).map(Double.init)))
            XCTAssertEqual(process.sites[0].births.map(\.birthEpoch), Array(1...13))
            XCTAssertEqual(process.totals[12].liveBytes, Double(process.pid))
        }
    }

    func testManySitesAreBuiltInOrderAcrossChunks() throws {
        // Enough sites that build() splits them over several workers.
        let count = 9_000
        for epoch: UInt64 in 1...3 {
            let present = epoch == 1 ? count / 2 : count  // the second half appears in epoch 2
            try write(pid: 9, epoch: epoch,
                      stacks: (1...present).map { stack(UInt32($0), objects: Double(epoch), bytes: Double($0) * Double(epoch)) },
                      live: (1...present).map { live(UInt32($0), born: UInt32(epoch), objects: 1, bytes: 2) })
        }
        let process = try HeapStore.load(directory: directory).processes[0]
        XCTAssertEqual(process.sites.map(\.stackID), (1...UInt32(count)).map { $0 })
        XCTAssertEqual(process.sites[10].allocBytes, [11, 22, 33])
        XCTAssertEqual(process.sites[count - 1].allocBytes, [0, Double(count) * 2, Double(count) * 3])
        XCTAssertEqual(process.sites[count - 1].births.map(\.epochIndex), [1, 2])
        let sum = Double(count * (count + 1) / 2)
        let firstHalf = Double((count / 2) * (count / 2 + 1) / 2)
        XCTAssertEqual(process.totals.map(\.allocBytes), [firstHalf, sum * 2, sum * 3])
        XCTAssertEqual(process.totals.map(\.liveBytes), [Double(count), Double(count * 2), Double(count * 2)])
    }

    func testBadFileInALaterBatchIsNamed() throws {
        for epoch: UInt64 in 1...20 { try write(pid: 5, epoch: epoch, stacks: [stack(1)]) }
        let bad = directory + "/5.000017.swheap"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: bad))
        bytes.removeLast(DumpLayout.sectionHeaderSize)
        try bytes.write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try HeapStore.load(directory: directory)) { error in
            XCTAssertEqual(error as? DumpError, DumpError(path: bad, problem: .missingEnd))
        }
    }

    func testWriterFileNames() {
        XCTAssertEqual(DumpWriter.fileName(pid: 4242, epoch: 3), "4242.000003.swheap")
        XCTAssertEqual(DumpWriter.fileName(pid: 1, epoch: 1_234_567), "1.1234567.swheap")
    }

    func testHeaderThatDisagreesWithTheFileName() throws {
        let path = try write(pid: 8, epoch: 1, stacks: [])
        let renamed = directory + "/9.000001.swheap"
        try FileManager.default.moveItem(atPath: path, toPath: renamed)
        XCTAssertThrowsError(try HeapStore.load(directory: directory)) { error in
            XCTAssertEqual(error as? DumpError, DumpError(path: renamed, problem: .nameMismatch(
                namePID: 9, nameEpoch: 1, headerPID: 8, headerEpoch: 1)))
        }
    }

    // MARK: Watching a directory being written

    func testWatcherReadsOnlyNewDumpsAndAgreesWithAFullLoad() throws {
        var watcher = HeapStoreWatcher(directory: directory)
        XCTAssertThrowsError(try watcher.refresh(), "no dumps yet")
        let first = try write(pid: 50, epoch: 1, stacks: [stack(1, objects: 1, bytes: 100)],
                              live: [live(1, born: 1, objects: 1, bytes: 100)])
        XCTAssertEqual(try watcher.refresh().newFiles, 1)
        XCTAssertEqual(try watcher.refresh().newFiles, 0, "nothing changed: nothing read")

        try write(pid: 50, epoch: 2, stacks: [stack(1, objects: 3, bytes: 300)],
                  live: [live(1, born: 1, objects: 1, bytes: 100), live(1, born: 2, objects: 2, bytes: 200)])
        try write(pid: 51, parent: 50, epoch: 1, stacks: [stack(7, objects: 1, bytes: 8)], live: [live(7, born: 1, objects: 1, bytes: 8)])
        let second = try watcher.refresh()
        XCTAssertEqual(second.newFiles, 2)
        let full = try HeapStore.load(directory: directory)
        XCTAssertEqual(second.store.processes.map(\.pid), full.processes.map(\.pid))
        XCTAssertEqual(second.store.processes.map { $0.epochs.map(\.epoch) }, full.processes.map { $0.epochs.map(\.epoch) })
        XCTAssertEqual(second.store.processes.map { $0.sites.map(\.liveBytes) }, full.processes.map { $0.sites.map(\.liveBytes) })

        try FileManager.default.removeItem(atPath: first)
        let third = try watcher.refresh()
        XCTAssertEqual(third.newFiles, 0)
        XCTAssertEqual(third.removedFiles, 1)
        XCTAssertEqual(third.store.process(pid: 50)?.epochs.map(\.epoch), [2])
    }

    // MARK: Helpers

    private func assertLoadError(_ path: String, _ problem: DumpError.Problem, line: UInt = #line) {
        XCTAssertThrowsError(try HeapStore.load(directory: path), line: line) { error in
            XCTAssertEqual(error as? DumpError, DumpError(path: path, problem: problem), line: line)
            XCTAssertTrue("\(error)".hasPrefix(path + ": "), line: line)
        }
    }

    @discardableResult
    private func write(pid: Int32, parent: Int32 = 1, epoch: UInt64, wall: UInt64? = nil, start: UInt64 = 0,
                       final: Bool = false, scanned: Bool = false,
                       stacks: [StackRecord], live: [LiveCell] = [], modules: [Module] = [],
                       executable: String = "/usr/bin/app") throws -> String {
        let header = DumpHeader(isFinal: final, isScanned: scanned, pid: pid, parentPID: parent, epoch: epoch,
                                wallTimeNs: wall ?? epoch, monotonicNs: start + 1_000_000_000 * (epoch + 1),
                                startMonotonicNs: start + 1_000_000_000, rate: 4096, maxDepth: 32)
        let dump = Dump(header: header, executable: executable, commandLine: [executable, "arg"],
                        modules: modules, stacks: stacks, live: live)
        return try DumpWriter.write(dump, toDirectory: directory)
    }

    private func stack(_ id: UInt32, objects: Double = 1, bytes: Double = 16) -> StackRecord {
        StackRecord(id: id, frames: [0x1000 + UInt64(id), 0x2000], allocObjects: objects, allocBytes: bytes)
    }

    private func live(_ id: UInt32, born: UInt32, objects: Double, bytes: Double, unreferenced: Double = 0) -> LiveCell {
        LiveCell(stackID: id, birthEpoch: born, liveObjects: objects, liveBytes: bytes,
                   unreferencedObjects: unreferenced, unreferencedBytes: unreferenced * bytes / objects)
    }

    private func module(_ path: String, bias: UInt64, id: UInt8) -> Module {
        Module(loadBias: bias, path: path, buildID: [id],
               segments: [Segment(start: bias, end: bias + 0x1000, fileOffset: 0, flags: 5)])
    }
}
