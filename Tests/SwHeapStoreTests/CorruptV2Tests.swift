// Format v2's fields are validated like v1's: each broken rule is one line naming the file,
// the record and the field; random damage to estimates gives valid figures or one error.

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapStore
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class CorruptV2Tests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws { directory = try Scratch.directory(name) }
    override func tearDownWithError() throws { Scratch.remove(directory) }

    private func dump(epoch: UInt64) -> Dump {
        Dump(header: DumpHeader(isFinal: epoch == 3, pid: 12, parentPID: 1, epoch: epoch, wallTimeNs: epoch,
                                monotonicNs: 10 + epoch, startMonotonicNs: 10, rate: 524_288, maxDepth: 64),
             executable: "/usr/bin/app", commandLine: ["/usr/bin/app"],
             modules: [Module(loadBias: 0x5555_0000_0000, path: "/usr/bin/app", buildID: [0xab],
                              segments: [Segment(start: 0x5555_0000_0000, end: 0x5555_0001_0000, fileOffset: 0, flags: 5)])],
             stacks: [StackRecord(id: 7, frames: [0x5555_0000_1234], allocObjects: 10.5 * Double(epoch), allocBytes: 1024.25 * Double(epoch)),
                      StackRecord(id: 9, frames: [], allocObjects: 1, allocBytes: 16)],
             live: (1...epoch).map { LiveCell(stackID: 7, birthEpoch: UInt32($0), liveObjects: 2, liveBytes: 200,
                                              unreferencedObjects: 1, unreferencedBytes: 100) })
    }

    /// Writes epochs 1-3 (plain), with `change` applied to the dump of epoch 3 before writing.
    @discardableResult
    private func writeRun(_ change: (inout Dump) -> Void = { _ in }) throws -> [String] {
        var writer = LoggedDumpWriter(directory: directory, deflated: false)
        return try (1...3).map { epoch in
            var d = dump(epoch: UInt64(epoch))
            if epoch == 3 { change(&d) }
            return try writer.write(d)
        }
    }

    private func assertError(_ path: String, contains field: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try HeapStore.load(directory: directory), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": "), text, file: file, line: line)
            XCTAssertTrue(text.contains(field), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), file: file, line: line)
        }
    }

    private var logPath: String { directory + "/12.000001.log" }

    private func patchLog(at offset: Int, _ bytes: [UInt8]) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: logPath))
        data.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        try data.write(to: URL(fileURLWithPath: logPath))
    }

    func testCohortRules() throws {
        let paths = try writeRun { $0.live[0].liveBytes = .nan }
        assertError(paths[2], contains: "COHORTS record 0 (stack 7) live_bytes")
        Scratch.remove(directory); directory = try Scratch.directory(name)
        let more = try writeRun { $0.live[1].unreferencedObjects = 3 }
        assertError(more[2], contains: "COHORTS record 1 (stack 7) unref_objects")
        Scratch.remove(directory); directory = try Scratch.directory(name)
        let unknown = try writeRun { $0.live[0].stackID = 99 }
        assertError(unknown[2], contains: "COHORTS section refers to stack id 99")
    }

    func testCohortMustBeTheAlignedBlockOfItsEpoch() throws {
        let paths = try writeRun()
        // Epoch 3's only cohorts are single epochs; claim 1..2 instead.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: paths[2])))
        let cohorts = try XCTUnwrap(sectionBody(bytes, tag: SW_TAG_COHORTS_VALUE))
        withUnsafeBytes(of: UInt32(2).littleEndian) { bytes.replaceSubrange(cohorts + 4 + 8..<cohorts + 4 + 12, with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: paths[2]))
        assertError(paths[2], contains: "COHORTS record 0 (stack 7) birth_first..birth_last")
    }

    func testLogChunkRules() throws {
        let paths = try writeRun()
        _ = paths
        try patchLog(at: DumpLayout.logHeaderSize + 4, [0x80, 0, 0, 0])  // first chunk's flags
        assertError(logPath, contains: "log chunk at offset 32 (epoch 1) flags")
        Scratch.remove(directory); directory = try Scratch.directory(name)
        try writeRun()
        try patchLog(at: DumpLayout.logHeaderSize, [0, 0, 0, 0])  // first chunk's epoch 0
        assertError(logPath, contains: "log chunk at offset 32 (epoch 0) epoch")
        Scratch.remove(directory); directory = try Scratch.directory(name)
        try writeRun()
        try patchLog(at: 0, Array("SWHEAPX2".utf8))
        assertError(logPath, contains: "not a swheap stack log")
    }

    /// Offsets of the log's chunks, in order.
    private func chunkOffsets() throws -> [Int] {
        let log = try [UInt8](Data(contentsOf: URL(fileURLWithPath: logPath)))
        var offsets: [Int] = [], at = DumpLayout.logHeaderSize
        while at + DumpLayout.logChunkSize <= log.count {
            offsets.append(at)
            let stored = log[at + 16..<at + 24].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            at += DumpLayout.logChunkSize + Int(stored)
        }
        return offsets
    }

    /// A log long enough for its chunks to be decoded on several threads: the figures are
    /// those of a chunk-by-chunk replay, and of two broken chunks the first is the one named,
    /// whether a body or a frame is broken.
    func testManyChunksReplayInOrderAndNameTheFirstBrokenOne() throws {
        func writeLongRun() throws {
            var writer = LoggedDumpWriter(directory: directory, deflated: false)
            for epoch in 1...20 {
                var d = dump(epoch: UInt64(epoch))
                d.header.isFinal = epoch == 20
                try writer.write(d)
            }
        }
        try writeLongRun()
        let heap = try XCTUnwrap(try HeapStore.load(directory: directory, selection: .all).processes.first)
        XCTAssertEqual(heap.epochs.count, 20)
        XCTAssertEqual(heap.totals.map(\.allocBytes), (1...20).map { 1024.25 * Double($0) + 16 })

        let chunks = try chunkOffsets()
        XCTAssertEqual(chunks.count, 20)
        XCTAssertGreaterThanOrEqual(chunks.count, StackLog.chunksWorthSpreading)
        let log = try [UInt8](Data(contentsOf: URL(fileURLWithPath: logPath)))
        let alloc = try XCTUnwrap(sectionBody(log, tag: SW_TAG_ALLOC_VALUE, from: chunks[5] + DumpLayout.logChunkSize))
        try patchLog(at: chunks[12] + 4, [0x80, 0, 0, 0])  // chunk 12's flags
        assertError(logPath, contains: "log chunk at offset \(chunks[12]) (epoch 13) flags")
        try patchLog(at: alloc + 4 + 16, withUnsafeBytes(of: Double.infinity.bitPattern.littleEndian) { Array($0) })
        assertError(logPath, contains: "log chunk at offset \(chunks[5]) (epoch 6): ALLOC record 0 (stack 7) alloc_bytes")
    }

    func testAllocRulesInsideAChunk() throws {
        try writeRun()
        let log = try [UInt8](Data(contentsOf: URL(fileURLWithPath: logPath)))
        let body = DumpLayout.logHeaderSize + DumpLayout.logChunkSize
        let alloc = try XCTUnwrap(sectionBody(log, tag: SW_TAG_ALLOC_VALUE, from: body))
        try patchLog(at: alloc + 4 + 16, withUnsafeBytes(of: Double.infinity.bitPattern.littleEndian) { Array($0) })
        assertError(logPath, contains: "log chunk at offset 32 (epoch 1): ALLOC record 0 (stack 7) alloc_bytes")
    }

    func testLogNameAndDeflatedBody() throws {
        let file = DumpWriter.encodeEpoch(dump(epoch: 1), log: LogReference(name: "../12.000001.log", length: 100), deflated: true)
        XCTAssertThrowsError(try DumpReader.decode(file, path: "x/12.000001.swheap")) { error in
            XCTAssertTrue("\(error)".hasPrefix("x/12.000001.swheap: LOG name is \"../12.000001.log\""), "\(error)")
        }
        var broken = DumpWriter.encodeEpoch(dump(epoch: 1), log: LogReference(name: "12.000001.log", length: 100), deflated: true)
        broken[broken.count - 3] ^= 0xff
        XCTAssertThrowsError(try DumpReader.decode(broken, path: "x/12.000001.swheap")) { error in
            XCTAssertTrue("\(error)".hasPrefix("x/12.000001.swheap: cannot inflate the body after the header"), "\(error)")
        }
        // The deflated flag is a v2 bit: a v1 file with it is rejected.
        var v1 = DumpWriter.encode(dump(epoch: 1))
        v1[12] |= UInt8(DumpLayout.flagDeflated)
        XCTAssertThrowsError(try DumpReader.decode(v1, path: "x/12.000001.swheap")) { error in
            XCTAssertTrue("\(error)".contains("only bits 0-3 are defined in version 1"), "\(error)")
        }
    }

    /// Property: any estimate of COHORTS or ALLOC set to anything gives valid figures or one error.
    func testMutatedEstimatesGiveValidFiguresOrOneError() throws {
        let paths = try writeRun()
        let epoch = try [UInt8](Data(contentsOf: URL(fileURLWithPath: paths[2])))
        let log = try [UInt8](Data(contentsOf: URL(fileURLWithPath: logPath)))
        let cohorts = try XCTUnwrap(sectionBody(epoch, tag: SW_TAG_COHORTS_VALUE))
        let cohortOffsets = (0..<3).flatMap { i in [16, 24, 32, 40].map { cohorts + 4 + i * 48 + $0 } }
        let alloc = try XCTUnwrap(sectionBody(log, tag: SW_TAG_ALLOC_VALUE, from: DumpLayout.logHeaderSize + DumpLayout.logChunkSize))
        let allocOffsets = [alloc + 4 + 8, alloc + 4 + 16]
        var random = SplitMix64(seed: 29)
        let nasty: [Double] = [.nan, .infinity, -.infinity, 1e308, -1, 0x1p64.nextUp, .leastNonzeroMagnitude, 0, 1]
        for _ in 0..<300 {
            var e = epoch, l = log
            for _ in 0..<(1 + random.next() % 2) {
                let value = random.next() % 2 == 0 ? nasty[Int(random.next() % UInt64(nasty.count))] : Double(bitPattern: random.next())
                let bits = withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
                if random.next() % 2 == 0 {
                    let at = cohortOffsets[Int(random.next() % UInt64(cohortOffsets.count))]
                    e.replaceSubrange(at..<at + 8, with: bits)
                } else {
                    let at = allocOffsets[Int(random.next() % 2)]
                    l.replaceSubrange(at..<at + 8, with: bits)
                }
            }
            try Data(e).write(to: URL(fileURLWithPath: paths[2]))
            try Data(l).write(to: URL(fileURLWithPath: logPath))
            do throws(DumpError) {
                let whole = try DumpReader.read(path: paths[2])
                for stack in whole.stacks { XCTAssertTrue(valid(stack.allocObjects) && valid(stack.allocBytes)) }
                for cell in whole.live {
                    XCTAssertTrue(valid(cell.liveObjects) && valid(cell.liveBytes))
                    XCTAssertTrue(cell.unreferencedObjects <= cell.liveObjects && cell.unreferencedBytes <= cell.liveBytes)
                }
            } catch {
                XCTAssertTrue(error.description.hasPrefix(paths[2] + ": ") || error.description.hasPrefix(logPath + ": "),
                              error.description)
                XCTAssertFalse(error.description.contains("\n"))
            }
        }
    }

    private func valid(_ x: Double) -> Bool { x.isFinite && x >= 0 && x <= 0x1p64 }

    /// The offset of the body of the first section with `tag` in sections starting at `from`.
    private func sectionBody(_ bytes: [UInt8], tag: UInt32, from start: Int = DumpLayout.headerSize) -> Int? {
        var at = start
        while at + 16 <= bytes.count {
            let found = bytes[at..<at + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let length = bytes[at + 8..<at + 16].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            if found == tag { return at + 16 }
            if found == DumpLayout.Tag.end.rawValue { return nil }
            at += 16 + Int(length)
        }
        return nil
    }

    private let SW_TAG_COHORTS_VALUE = DumpLayout.Tag.cohorts.rawValue
    private let SW_TAG_ALLOC_VALUE = DumpLayout.Tag.alloc.rawValue
}
