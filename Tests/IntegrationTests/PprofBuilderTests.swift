// Builds a profile from synthetic dumps whose frames are real return addresses in a compiled
// fixture, then checks it with the real pprof client (`go tool pprof`).
import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapOutput
@testable import SwHeapStore
@testable import SwHeapSymbols
@testable import SwHeapSynth
@testable import SwHeapTestSupport

/// Dumps of one process over three epochs with exact counts (rate 1), frames inside a compiled
/// C program: `leak` keeps everything, `churn` frees what it allocates.
struct PprofScenario {
    static let pid: Int32 = 4242
    static let bias: UInt64 = 0x5555_0000_0000
    static let source = """
    #include <stdlib.h>
    __attribute__((noinline)) void *leak(size_t n) { return malloc(n); } // LEAK
    __attribute__((noinline)) void *churn(size_t n) { return malloc(n); } // CHURN
    int main(int argc, char **argv) { (void)argv; free(churn(8)); return leak((size_t)argc) == 0; } // MAIN

    """

    var fixture: CompiledFixture
    var directory: String
    var module: Module
    var leakFrames: [UInt64]
    var churnFrames: [UInt64]

    init() throws {
        fixture = try CompiledFixture.compile(name: "leaky", source: Self.source)
        module = try fixture.object.module(loadBias: Self.bias)
        let object = fixture.object
        func returnAddress(_ function: String) throws -> UInt64 { try Self.bias + object.symbolAddress(function) + 9 }
        leakFrames = [try returnAddress("leak"), try returnAddress("main")]
        churnFrames = [try returnAddress("churn"), try returnAddress("main") + 4]
        directory = fixture.directory + "/dumps"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // leak: 100 bytes per object, 10 objects per epoch, all kept.
        // churn: 8 bytes per object, 1000 objects per epoch, only the 3 newest live.
        for epoch in UInt64(1)...3 {
            let header = DumpHeader(isFinal: epoch == 3, pid: Self.pid, parentPID: 1, epoch: epoch,
                                    wallTimeNs: 1_700_000_000_000_000_000 + epoch * 1_000_000_000,
                                    monotonicNs: 5_000_000_000 + epoch * 1_000_000_000, startMonotonicNs: 5_000_000_000,
                                    rate: 1, maxDepth: 64)
            let stacks = [
                StackRecord(id: 1, frames: leakFrames, allocObjects: Double(10 * epoch), allocBytes: Double(1000 * epoch)),
                StackRecord(id: 2, frames: churnFrames, allocObjects: Double(1000 * epoch), allocBytes: Double(8000 * epoch)),
            ]
            let live = (1...UInt32(epoch)).map {
                LiveCell(stackID: 1, birthEpoch: $0, liveObjects: 10, liveBytes: 1000, unreferencedObjects: 0, unreferencedBytes: 0)
            } + [LiveCell(stackID: 2, birthEpoch: UInt32(epoch), liveObjects: 3, liveBytes: 24,
                            unreferencedObjects: 0, unreferencedBytes: 0)]
            let dump = Dump(header: header, executable: object.path, commandLine: [object.path, "--flag"],
                            modules: [module], stacks: stacks, live: live)
            try DumpWriter.write(dump, toDirectory: directory)
        }
    }

    func process() throws -> ProcessHeap {
        try XCTUnwrap(HeapStore.load(directory: directory).process(pid: Self.pid))
    }

    func remove() { fixture.remove() }
}

final class PprofBuilderTests: XCTestCase {
    func testRowsSplitAllocationAndLiveByBirthEpoch() throws {
        let scenario = try PprofScenario()
        defer { scenario.remove() }
        let process = try scenario.process()
        let rows = PprofSamples.rows(for: process, epochIndex: 2)
        let leak = rows.filter { process.sites[$0.siteIndex].stackID == 1 }
        XCTAssertEqual(leak.map(\.birthEpoch), [1, 2, 3])
        XCTAssertEqual(leak.map(\.roundedValues), Array(repeating: [10, 1000, 10, 1000], count: 3))
        let churn = rows.filter { process.sites[$0.siteIndex].stackID == 2 }
        XCTAssertEqual(churn.map(\.roundedValues), [[1000, 8000, 0, 0], [1000, 8000, 0, 0], [1000, 8000, 3, 24]])

        // Growth since epoch 1: allocation of epochs 2-3; live born in 1 unchanged (left out),
        // churn's epoch-1 objects freed (negative).
        let growth = PprofSamples.rows(for: process, epochIndex: 2, baseIndex: 0)
        XCTAssertEqual(growth.filter { process.sites[$0.siteIndex].stackID == 1 }.map(\.roundedValues),
                       [[10, 1000, 10, 1000], [10, 1000, 10, 1000]])
        XCTAssertEqual(growth.filter { process.sites[$0.siteIndex].stackID == 2 }.map(\.roundedValues),
                       [[0, 0, -3, -24], [1000, 8000, 0, 0], [1000, 8000, 3, 24]])
    }

    func testProfileFollowsThePprofConventions() throws {
        let scenario = try PprofScenario()
        defer { scenario.remove() }
        let process = try scenario.process()
        let profile = PprofBuilder(process: process).profile(epochIndex: 2, symbolizer: Symbolizer())
        let strings = profile.stringTable
        XCTAssertEqual(strings.first, "")
        XCTAssertEqual(Set(strings).count, strings.count, "strings are unique")
        XCTAssertEqual(profile.sampleType.map { strings[Int($0.type)] + "/" + strings[Int($0.unit)] },
                       ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"])
        XCTAssertEqual(strings[Int(profile.defaultSampleType)], "inuse_space")
        XCTAssertEqual(strings[Int(profile.periodType.type)], "space")
        XCTAssertEqual(profile.period, 1)
        XCTAssertEqual(strings[Int(profile.dropFrames)], FrameClassifier.dropFramesPattern)
        XCTAssertEqual(profile.durationNanos, 3_000_000_000)
        XCTAssertEqual(profile.timeNanos, 1_700_000_000_000_000_000)

        XCTAssertEqual(profile.mapping.count, scenario.module.segments.filter(\.isExecutable).count)
        let mapping = try XCTUnwrap(profile.mapping.first)
        XCTAssertEqual(strings[Int(mapping.filename)], scenario.fixture.object.path)
        XCTAssertEqual(strings[Int(mapping.buildID)], scenario.module.buildIDHex)
        XCTAssertTrue(mapping.hasFunctions_p && mapping.hasLineNumbers_p && mapping.hasFilenames_p)
        for ids in [profile.mapping.map(\.id), profile.location.map(\.id), profile.function.map(\.id)] {
            XCTAssertFalse(ids.contains(0))
            XCTAssertEqual(Set(ids).count, ids.count)
        }
        let functionNames = Set(profile.function.map { strings[Int($0.name)] })
        XCTAssertTrue(functionNames.isSuperset(of: ["leak", "churn", "main"]))
        let leafOfLeak = try XCTUnwrap(profile.sample.first).locationID[0]
        let leafLocation = try XCTUnwrap(profile.location.first { $0.id == leafOfLeak })
        XCTAssertEqual(leafLocation.address, scenario.leakFrames[0] - 1)
        XCTAssertEqual(profile.sample.count, 6)
        XCTAssertTrue(profile.sample.allSatisfy { $0.label.count == 2 && strings[Int($0.label[0].key)] == "birth_epoch" })
        // Label `site`: the report's site (function, after skipped frames) of every sample.
        XCTAssertTrue(profile.sample.allSatisfy { strings[Int($0.label[1].key)] == "site" })
        let sites = Set(profile.sample.map { strings[Int($0.label[1].str)] })
        XCTAssertTrue(sites.contains { $0.hasPrefix("leak") }, "\(sites)")
    }

    func testEpochSelectionErrorsListWhatExists() throws {
        let scenario = try PprofScenario()
        defer { scenario.remove() }
        let builder = PprofBuilder(process: try scenario.process())
        XCTAssertEqual(try builder.epochIndices(epoch: nil, base: nil).epoch, 2)
        XCTAssertEqual(try builder.epochIndices(epoch: 2, base: 1).base, 0)
        XCTAssertThrowsError(try builder.epochIndices(epoch: 9, base: nil)) { error in
            XCTAssertEqual("\(error)", "process 4242 has no epoch 9; epochs: 1-3")
        }
        XCTAssertThrowsError(try builder.epochIndices(epoch: 2, base: 3)) { error in
            XCTAssertEqual("\(error)", "--base 3 must be an earlier epoch than 2")
        }
    }

    func testWriteIsAtomicAndReadsBack() throws {
        let scenario = try PprofScenario()
        defer { scenario.remove() }
        let profile = PprofBuilder(process: try scenario.process()).profile(epochIndex: 2, symbolizer: Symbolizer())
        let path = scenario.fixture.directory + "/heap.pb.gz"
        try PprofFile.write(profile, to: path)
        XCTAssertEqual(try PprofFile.read(from: path), profile)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scenario.fixture.directory).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
        XCTAssertThrowsError(try PprofFile.write(profile, to: "/nonexistent-dir/heap.pb.gz")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot write /nonexistent-dir/heap.pb.gz: "), "\(error)")
        }
    }

    // MARK: The real client

    private func pprof(_ arguments: [String]) throws -> String {
        try Harness.requireGo()
        return try Harness.goToolPprof(arguments)
    }

    func testGoToolPprofReadsTheProfile() throws {
        let scenario = try PprofScenario()
        defer { scenario.remove() }
        let profile = PprofBuilder(process: try scenario.process()).profile(epochIndex: 2, symbolizer: Symbolizer())
        let path = scenario.fixture.directory + "/heap.pb.gz"
        try PprofFile.write(profile, to: path)
        let sourceFile = scenario.fixture.sourcePath
        let lines = { (marker: String) in scenario.fixture.line(of: marker) }

        let raw = try pprof(["-raw", path])
        XCTAssertTrue(raw.contains("alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes"), raw)
        XCTAssertTrue(raw.contains("10       1000         10       1000"), raw)
        XCTAssertTrue(raw.contains("birth_epoch:[1 epoch]") || raw.contains("birth_epoch:[1]"), raw)
        XCTAssertTrue(raw.contains("leak \(sourceFile):\(lines("// LEAK"))"), raw)

        // inuse_space is the default: leak holds 3000 bytes, churn 24.
        let top = try pprof(["-top", "-unit=B", path])
        XCTAssertTrue(top.contains("Type: inuse_space"), top)
        XCTAssertTrue(top.split(separator: "\n").contains { $0.hasSuffix(" leak") && $0.contains(" 3000B ") }, top)
        XCTAssertTrue(top.split(separator: "\n").contains { $0.hasSuffix(" churn") && $0.contains(" 24B ") }, top)

        let alloc = try pprof(["-top", "-unit=B", "-sample_index=alloc_space", path])
        XCTAssertTrue(alloc.split(separator: "\n").contains { $0.hasSuffix(" churn") && $0.contains(" 24000B ") }, alloc)

        let byLine = try pprof(["-top", "-lines", path])
        XCTAssertTrue(byLine.contains("leak \(sourceFile):\(lines("// LEAK"))"), byLine)
        XCTAssertTrue(byLine.contains("main \(sourceFile):\(lines("// MAIN"))"), byLine)

        // Growth since epoch 1 with birth-epoch filtering: only epochs 2 and 3 of leak.
        let growth = PprofBuilder(process: try scenario.process()).profile(epochIndex: 2, baseIndex: 0, symbolizer: Symbolizer())
        let growthPath = scenario.fixture.directory + "/growth.pb.gz"
        try PprofFile.write(growth, to: growthPath)
        let growthTop = try pprof(["-top", "-unit=B", "-tagfocus=birth_epoch=3", growthPath])
        XCTAssertTrue(growthTop.split(separator: "\n").contains { $0.hasSuffix(" leak") && $0.contains(" 1000B ") }, growthTop)
    }
}
