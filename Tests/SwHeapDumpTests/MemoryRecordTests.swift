// The MEMORY record of a v2 epoch file (docs/FORMAT.md): the writer's record read back, a
// figure not taken read as nil, a dump without the record read as before, a newer and larger
// record read by the fields this reader knows, and every broken rule a one-line error.

import XCTest
@testable import SwHeapDump
@testable import SwHeapSynth

final class MemoryRecordTests: XCTestCase {
    let path = "swheap.app.12/12.000003.swheap"

    func header() -> DumpHeader {
        DumpHeader(pid: 12, parentPID: 1, epoch: 3, wallTimeNs: 30, monotonicNs: 3_000_000_000, startMonotonicNs: 0,
                   rate: 524_288, maxDepth: 64)
    }

    func glibcPicture() -> MemoryPicture {
        let names = AllocatorKind.glibc.rawFigureNames
        return MemoryPicture(allocator: .glibc, rssBytes: 140_435_456, fileBytes: 2_441_216, anonBytes: 137_994_240,
                             inUseBytes: 1_645_088, freeBytes: 135_345_632, heldBytes: 136_990_720, arenas: 5,
                             allocatorNs: 45_515, sampledLiveBytes: 1_190_524.5,
                             figures: zip(names, [135_925_760, 580_128, 135_345_632, 1_064_960, 128_288, 513, 4, 0] as [UInt64])
                                 .map { AllocatorFigure(name: $0.0, value: $0.1) })
    }

    /// An epoch file's bytes (plain, so tests can patch them) with `memory`, or `extra` sections.
    func encode(_ memory: MemoryPicture?, extra: [DumpWriter.ExtraSection] = []) -> [UInt8] {
        let dump = Dump(header: header(), executable: "/bin/app", commandLine: ["app"], modules: [], stacks: [], live: [],
                        memory: memory)
        return DumpWriter.encodeEpoch(dump, log: LogReference(name: "12.000001.log", length: 100), deflated: false,
                                      extraSections: extra)
    }

    func record(_ memory: MemoryPicture, _ change: (inout RawMemory) -> Void = { _ in }) -> [UInt8] {
        var raw = DumpWriter.memoryRecord(memory)
        change(&raw)
        return withUnsafeBytes(of: raw) { Array($0) }
    }

    func testEveryFigureRoundTrips() throws {
        let picture = glibcPicture()
        let decoded = try DumpReader.decode(encode(picture), path: path)
        XCTAssertEqual(decoded.memory, picture)
        XCTAssertEqual(decoded.memory?.figure("fordblks"), 135_345_632)
        XCTAssertTrue(decoded.memory?.hasAllocatorFigures ?? false)
    }

    func testAFigureNotTakenIsNilNotZero() throws {
        let picture = MemoryPicture(allocator: .mimalloc, rssBytes: 50 << 20, heldBytes: 40 << 20, sampledLiveBytes: 3,
                                    figures: [AllocatorFigure(name: "current_commit", value: 40 << 20)])
        let decoded = try XCTUnwrap(try DumpReader.decode(encode(picture), path: path).memory)
        XCTAssertNil(decoded.inUseBytes)
        XCTAssertNil(decoded.freeBytes)
        XCTAssertNil(decoded.anonBytes)
        XCTAssertNil(decoded.arenas)
        XCTAssertEqual(decoded.heldBytes, 40 << 20)
        XCTAssertEqual(decoded.figure("current_commit"), 40 << 20)
        XCTAssertEqual(decoded.figure("current_rss"), 0, "every raw slot of the allocator is named")

        let skipped = MemoryPicture(allocator: .glibc, rssBytes: 1 << 20, allocatorSkipped: true)
        let read = try XCTUnwrap(try DumpReader.decode(encode(skipped), path: path).memory)
        XCTAssertTrue(read.allocatorSkipped)
        XCTAssertFalse(read.hasAllocatorFigures)
        XCTAssertEqual(read.missingFigures, .notAsked)
        XCTAssertEqual(read.figures, [])
        let late = MemoryPicture(allocator: .jemalloc, rssBytes: 1 << 20, allocatorLate: true)
        XCTAssertEqual(try DumpReader.decode(encode(late), path: path).memory?.missingFigures, .late)
    }

    func testADumpWithoutTheRecordHasNoMemory() throws {
        XCTAssertNil(try DumpReader.decode(encode(nil), path: path).memory)
    }

    /// A later version appends fields: this reader reads version 1's and skips the rest, and
    /// accepts valid bits and allocators it does not know.
    func testANewerLargerRecordIsReadByTheFieldsItKnows() throws {
        var body = record(glibcPicture()) { raw in
            raw.version = 2
            raw.size = UInt32(DumpLayout.memoryRecordSize + 16)
            raw.valid |= 1 << 12
        }
        body += Array(repeating: 0xAB, count: 16)
        let decoded = try XCTUnwrap(try DumpReader.decode(encode(nil, extra: [.init(tag: 10, body: body)]), path: path).memory)
        XCTAssertEqual(decoded.version, 2)
        XCTAssertEqual(decoded.rssBytes, 140_435_456)
        XCTAssertEqual(decoded.arenas, 5)

        let future = record(glibcPicture()) { $0.version = 3; $0.allocator = 9 }
        let unknown = try XCTUnwrap(try DumpReader.decode(encode(nil, extra: [.init(tag: 10, body: future)]), path: path).memory)
        XCTAssertEqual(unknown.allocator, .unknown)
    }

    func testBrokenRecordsAreOneLineErrors() {
        let picture = glibcPicture()
        func rejects(_ body: [UInt8], _ expected: String, line: UInt = #line) {
            XCTAssertThrowsError(try DumpReader.decode(encode(nil, extra: [.init(tag: 10, body: body)]), path: path),
                                 line: line) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(expected), "\(text) does not say \(expected)", line: line)
                XCTAssertTrue(text.contains(path), line: line)
                XCTAssertFalse(text.contains("\n"), line: line)
            }
        }
        rejects(Array(record(picture).prefix(100)), "MEMORY size")
        rejects(Array(record(picture).prefix(6)), "MEMORY")
        rejects(record(picture) { $0.size = 200 }, "MEMORY size")
        rejects(record(picture) { $0.version = 0 }, "MEMORY version")
        rejects(record(picture) { $0.valid |= 1 << 9 }, "MEMORY valid")
        rejects(record(picture) { $0.valid |= 1 << 31 }, "only bits 0-8")
        rejects(record(picture) { $0.allocator = 7 }, "MEMORY allocator")
        rejects(record(picture) { $0.valid &= ~MemoryRecord.arenas }, "MEMORY arenas")
        rejects(record(picture) { $0.sampled_live_bytes = -.infinity }, "MEMORY sampled_live_bytes")
        rejects(record(MemoryPicture(allocator: .unknown, rssBytes: 1)) { $0.valid |= MemoryRecord.inUse }, "unknown allocator")
        // Once, not twice.
        XCTAssertThrowsError(try DumpReader.decode(encode(picture, extra: [.init(tag: 10, body: record(picture))]), path: path))
    }

    func testEachAllocatorNamesItsFiguresAsSwheapFormatHDoes() {
        XCTAssertEqual(AllocatorKind.allCases.map(\.rawValue), ["unknown", "glibc", "jemalloc", "tcmalloc", "mimalloc"])
        XCTAssertEqual(AllocatorKind(code: 2), .jemalloc)
        XCTAssertEqual(AllocatorKind(code: 99), .unknown)
        for kind in AllocatorKind.allCases {
            XCTAssertLessThanOrEqual(kind.rawFigureNames.count, MemoryRecord.rawCount)
        }
        XCTAssertEqual(AllocatorKind.glibc.rawFigureNames.prefix(5), ["arena", "uordblks", "fordblks", "hblkhd", "keepcost"])
    }
}
