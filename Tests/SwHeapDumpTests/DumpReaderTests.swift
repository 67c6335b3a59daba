// The reader against the writer, and against every way a file can be broken.

import XCTest
@testable import SwHeapDump
@testable import SwHeapSystem
@testable import SwHeapSynth

final class DumpReaderTests: XCTestCase {
    let path = "swheap.app.12/12.000003.swheap"

    func testRoundTrip() throws {
        let dump = sampleDump()
        let decoded = try DumpReader.decode(DumpWriter.encode(dump), path: path)
        assertEqual(decoded, dump)
    }

    func testRoundTripOfEmptyDump() throws {
        let dump = Dump(header: sampleHeader(), executable: "", commandLine: [], modules: [], stacks: [], live: [])
        assertEqual(try DumpReader.decode(DumpWriter.encode(dump), path: path), dump)
    }

    func testHeaderFlagsAndNegativeLookingPIDs() throws {
        var dump = sampleDump()
        dump.header.isFinal = false
        dump.header.isScanned = true
        dump.header.isTruncated = true
        dump.header.pid = Int32.max
        let decoded = try DumpReader.decode(DumpWriter.encode(dump), path: path)
        XCTAssertEqual(decoded.header, dump.header)
    }

    func testUnknownSectionsAreSkipped() throws {
        let dump = sampleDump()
        let bytes = DumpWriter.encode(dump, extraSections: [.init(tag: 77, body: [1, 2, 3, 4, 5])])
        assertEqual(try DumpReader.decode(bytes, path: path), dump)
    }

    func testCommandLineWithoutFinalNUL() throws {
        var sink = ByteSink()
        DumpWriter.writeHeader(sampleHeader(), to: &sink)
        sink.section(.cmdline) { $0.raw(Array("a\0b".utf8)) }
        sink.section(.end) { _ in }
        XCTAssertEqual(try DumpReader.decode(sink.bytes, path: path).commandLine, ["a", "b"])
    }

    func testDecodeHeaderOnly() throws {
        XCTAssertEqual(try DumpReader.decodeHeader(DumpWriter.encode(sampleDump()), path: path), sampleHeader())
    }

    // MARK: Corruption classes, each a DumpError naming the file

    func testEmptyFile() {
        assertProblem([], .truncatedHeader(size: 0))
    }

    func testBadMagic() {
        var bytes = DumpWriter.encode(sampleDump())
        bytes[0] = UInt8(ascii: "X")
        assertProblem(bytes, .badMagic)
    }

    func testUnsupportedVersion() {
        var bytes = DumpWriter.encode(sampleDump())
        bytes[8] = 3
        assertProblem(bytes, .unsupportedVersion(3))
    }

    func testMissingEnd() {
        let bytes = DumpWriter.encode(sampleDump())
        assertProblem(Array(bytes.dropLast(DumpLayout.sectionHeaderSize)), .missingEnd)
    }

    func testDataAfterEnd() {
        assertProblem(DumpWriter.encode(sampleDump()) + [0, 0, 0], .dataAfterEnd(bytes: 3))
    }

    func testNonEmptyEnd() {
        var sink = headerOnly()
        sink.sectionHeader(tag: DumpLayout.Tag.end.rawValue, length: 2)
        sink.raw([0, 0])
        assertProblem(sink.bytes, .nonEmptyEnd(length: 2))
    }

    func testTruncatedSectionHeader() {
        var sink = headerOnly()
        sink.raw([4, 0, 0, 0, 0])
        assertProblem(sink.bytes, .truncatedSectionHeader(offset: 72, left: 5))
    }

    func testSectionLengthPastEnd() {
        var sink = headerOnly()
        sink.sectionHeader(tag: DumpLayout.Tag.stacks.rawValue, length: 4096)
        sink.raw(Array(repeating: 0, count: 100))
        assertProblem(sink.bytes, .sectionPastEnd(section: "STACKS", length: 4096, left: 100))
        XCTAssertEqual(error(sink.bytes)?.description,
                       "swheap.app.12/12.000003.swheap: truncated STACKS section (needs 4096 bytes, 100 left)")
    }

    func testHugeSectionLengthDoesNotOverflow() {
        var sink = headerOnly()
        sink.sectionHeader(tag: 99, length: UInt64.max)
        assertProblem(sink.bytes, .sectionPastEnd(section: "unknown (tag 99)", length: UInt64.max, left: 0))
    }

    func testDuplicateSection() {
        var sink = headerOnly()
        sink.section(.exe) { $0.string("/a") }
        sink.section(.exe) { $0.string("/b") }
        sink.section(.end) { _ in }
        assertProblem(sink.bytes, .duplicateSection("EXE"))
    }

    func testAbsurdCount() {
        let bytes = withSection(.stacks) { $0.u32(0xFFFF_FFFF) }
        assertProblem(bytes, .absurdCount(section: "STACKS", count: 0xFFFF_FFFF,
                                          minimumBytes: 0xFFFF_FFFF * 24, left: 0))
    }

    func testDepthPastSectionEnd() {
        let bytes = withSection(.stacks) { body in
            body.u32(1); body.u32(7); body.u32(100); body.f64(1); body.f64(1)
        }
        assertProblem(bytes, .truncatedSection(section: "STACKS", needs: 800, left: 0))
    }

    func testStringPastSectionEnd() {
        let bytes = withSection(.exe) { $0.u32(50); $0.raw([1, 2]) }
        assertProblem(bytes, .truncatedSection(section: "EXE", needs: 50, left: 2))
    }

    func testTrailingBytesInSection() {
        let bytes = withSection(.live) { $0.u32(0); $0.raw([9]) }
        assertProblem(bytes, .trailingBytes(section: "LIVE", bytes: 1))
    }

    func testZeroStackID() {
        var dump = sampleDump()
        dump.stacks[0].id = 0
        dump.live = []
        assertProblem(DumpWriter.encode(dump), .zeroStackID)
    }

    func testDuplicateStackID() {
        var dump = sampleDump()
        dump.stacks[1].id = dump.stacks[0].id
        assertProblem(DumpWriter.encode(dump), .duplicateStackID(dump.stacks[0].id))
    }

    func testLiveForUnknownStack() {
        var dump = sampleDump()
        dump.live[0].stackID = 999
        assertProblem(DumpWriter.encode(dump), .liveForUnknownStack(999))
    }

    func testUnreadableFile() {
        XCTAssertThrowsError(try DumpReader.read(path: "/nonexistent/1.000001.swheap")) { error in
            let dumpError = error as? DumpError
            XCTAssertEqual(dumpError?.path, "/nonexistent/1.000001.swheap")
            XCTAssertEqual(dumpError?.problem, .unreadable(reason: "No such file or directory"))
        }
    }

    func testOnlyACutCompressedStreamIsIncomplete() {
        // What a writer killed mid-write leaves, told from damage by the error's case.
        XCTAssertTrue(DumpError(path: path, problem: .badCompression(what: "body", .truncated)).isIncomplete)
        XCTAssertFalse(DumpError(path: path, problem: .badCompression(what: "body", .trailingBytes(3))).isIncomplete)
        XCTAssertFalse(DumpError(path: path, problem: .badCompression(what: "body", .zlib(operation: "inflate", code: -3))).isIncomplete)
    }

    // MARK: Never crash

    func testEveryTruncationIsAnError() {
        let bytes = DumpWriter.encode(sampleDump())
        for length in 0..<bytes.count {
            XCTAssertNotNil(error(Array(bytes[0..<length])), "prefix of \(length) bytes was accepted")
        }
    }

    func testBitFlipsAndRandomBytesNeverCrash() {
        let bytes = DumpWriter.encode(sampleDump())
        var random = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            var mutated = bytes
            for _ in 0..<(1 + random.next() % 4) {
                let index = Int(random.next() % UInt64(mutated.count))
                mutated[index] ^= UInt8(1 << (random.next() % 8))
            }
            check(mutated)
        }
        for _ in 0..<2_000 {
            var mutated = Array(bytes[0..<DumpLayout.headerSize])  // valid header, random rest
            for _ in 0..<(random.next() % 400) { mutated.append(UInt8(truncatingIfNeeded: random.next())) }
            check(mutated)
            check((0..<(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
    }

    // MARK: Helpers

    private func check(_ bytes: [UInt8]) {
        do throws(DumpError) { _ = try DumpReader.decode(bytes, path: path) } catch {
            XCTAssertTrue(error.description.hasPrefix(path + ": "))
            XCTAssertFalse(error.description.contains("\n"))
        }
    }

    private func error(_ bytes: [UInt8]) -> DumpError? {
        do throws(DumpError) { _ = try DumpReader.decode(bytes, path: path); return nil } catch { return error }
    }

    private func assertProblem(_ bytes: [UInt8], _ problem: DumpError.Problem, line: UInt = #line) {
        guard let error = error(bytes) else { return XCTFail("decoded without error", line: line) }
        XCTAssertEqual(error.path, path, line: line)
        XCTAssertEqual(error.problem, problem, line: line)
        XCTAssertTrue(error.description.hasPrefix(path + ": "), line: line)
    }

    private func headerOnly() -> ByteSink {
        var sink = ByteSink()
        DumpWriter.writeHeader(sampleHeader(), to: &sink)
        return sink
    }

    private func withSection(_ tag: DumpLayout.Tag, _ body: (inout ByteSink) -> Void) -> [UInt8] {
        var sink = headerOnly()
        sink.section(tag, body: body)
        sink.section(.end) { _ in }
        return sink.bytes
    }
}

private func assertEqual(_ a: Dump, _ b: Dump, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.header, b.header, file: file, line: line)
    XCTAssertEqual(a.executable, b.executable, file: file, line: line)
    XCTAssertEqual(a.commandLine, b.commandLine, file: file, line: line)
    XCTAssertEqual(a.modules, b.modules, file: file, line: line)
    XCTAssertEqual(a.stacks, b.stacks, file: file, line: line)
    XCTAssertEqual(a.live, b.live, file: file, line: line)
}

private func sampleHeader(pid: Int32 = 12, epoch: UInt64 = 3) -> DumpHeader {
    DumpHeader(isFinal: true, isScanned: false, isTruncated: false, pid: pid, parentPID: 1, epoch: epoch,
               wallTimeNs: 1_700_000_000_123_456_789, monotonicNs: 9_000_000_000 + epoch * 1_000_000_000,
               startMonotonicNs: 9_000_000_000, rate: 524_288, maxDepth: 64)
}

private func sampleDump() -> Dump {
    Dump(header: sampleHeader(), executable: "/usr/bin/app", commandLine: ["/usr/bin/app", "--flag", "ünï"],
         modules: [
            Module(loadBias: 0x5555_0000_0000, path: "/usr/bin/app", buildID: [0xde, 0xad, 0xbe, 0xef],
                   segments: [Segment(start: 0x5555_0000_0000, end: 0x5555_0001_0000, fileOffset: 0, flags: 5),
                              Segment(start: 0x5555_0002_0000, end: 0x5555_0002_1000, fileOffset: 0x2000, flags: 6)]),
            Module(loadBias: 0x7fff_0000_0000, path: Module.vdsoPath, buildID: [], segments: []),
         ],
         stacks: [
            StackRecord(id: 7, frames: [0x5555_0000_1234, 0x5555_0000_5678], allocObjects: 10.5, allocBytes: 1024.25),
            StackRecord(id: 9, frames: [], allocObjects: 1, allocBytes: 16),
         ],
         live: [
            LiveCell(stackID: 7, birthEpoch: 1, liveObjects: 2, liveBytes: 200, unreferencedObjects: 0, unreferencedBytes: 0),
            LiveCell(stackID: 7, birthEpoch: 3, liveObjects: 1.5, liveBytes: 150, unreferencedObjects: 0, unreferencedBytes: 0),
         ])
}
