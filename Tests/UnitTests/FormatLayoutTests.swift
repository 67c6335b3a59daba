// The dump layout as Swift reads it from swheap_format.h agrees with docs/FORMAT.md.

import XCTest
@testable import SwHeapDump
@testable import SwHeapTestSupport

final class FormatLayoutTests: XCTestCase {
    func testConstantsComeFromTheHeader() {
        XCTAssertEqual(DumpLayout.magic, Array("SWHEAPD1".utf8))
        XCTAssertEqual(DumpLayout.version, 1)
        XCTAssertEqual([DumpLayout.flagFinal, DumpLayout.flagScanned, DumpLayout.flagTruncated], [1, 2, 4])
        XCTAssertEqual(DumpLayout.Tag.allCases.map(\.rawValue), [1, 2, 3, 4, 5, 6, 7, 8, 0xFFFF_FFFF])
        XCTAssertEqual(DumpLayout.Tag.allCases.map(\.name),
                       ["EXE", "CMDLINE", "MODULES", "STACKS", "LIVE", "LOG", "COHORTS", "ALLOC", "END"])
        XCTAssertEqual(DumpLayout.Tag(rawValue: 4), .stacks)
        XCTAssertNil(DumpLayout.Tag(rawValue: 9))
        XCTAssertEqual(DumpLayout.logMagic, Array("SWHEAPL2".utf8))
        XCTAssertEqual([DumpLayout.oldestVersion, DumpLayout.logVersion], [1, 2])
        XCTAssertEqual(DumpLayout.flagDeflated, 16)
        XCTAssertEqual([DumpLayout.logHeaderSize, DumpLayout.logChunkSize], [32, 24])
        XCTAssertEqual([DumpLayout.stackFramesRecordSize, DumpLayout.allocRecordSize, DumpLayout.cohortRecordSize], [8, 24, 48])
        XCTAssertEqual(MemoryLayout<RawCohort>.size, 48)
        XCTAssertEqual(MemoryLayout<RawLogChunk>.size, 24)
    }

    func testRecordSizesMatchTheCStructs() {
        XCTAssertEqual(DumpLayout.headerSize, 72)
        XCTAssertEqual(MemoryLayout<RawHeader>.size, DumpLayout.headerSize)
        XCTAssertEqual(MemoryLayout<RawSection>.size, DumpLayout.sectionHeaderSize)
        XCTAssertEqual(MemoryLayout<RawSegment>.size, Int(DumpLayout.segmentRecordSize))
        XCTAssertEqual(MemoryLayout<RawStack>.size, Int(DumpLayout.stackRecordSize))
        XCTAssertEqual(MemoryLayout<RawLive>.size, Int(DumpLayout.liveRecordSize))
        XCTAssertEqual(DumpLayout.moduleRecordMinimum, 8 + 4 + 4 + 4)
    }

    /// The header offsets of docs/FORMAT.md, read from bytes the writer produced.
    func testHeaderFieldsSitWhereFormatMDSays() {
        let header = DumpHeader(isFinal: true, isScanned: false, isTruncated: true, pid: 0x0102_0304,
                                parentPID: 0x0506_0708, epoch: 0x1112_1314_1516_1718, wallTimeNs: 0x21,
                                monotonicNs: 0x22, startMonotonicNs: 0x23, rate: 0x24, maxDepth: 0x25)
        let bytes = DumpWriter.encode(Dump(header: header, executable: "", commandLine: [], modules: [],
                                           stacks: [], live: []))
        func u32(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        func u64(_ offset: Int) -> UInt64 { bytes[offset..<offset + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        XCTAssertEqual(Array(bytes[0..<8]), Array("SWHEAPD1".utf8))
        XCTAssertEqual(u32(8), 1)
        XCTAssertEqual(u32(12), 1 | 4)
        XCTAssertEqual(u32(16), 0x0102_0304)
        XCTAssertEqual(u32(20), 0x0506_0708)
        XCTAssertEqual(u64(24), 0x1112_1314_1516_1718)
        XCTAssertEqual([u64(32), u64(40), u64(48), u64(56)], [0x21, 0x22, 0x23, 0x24])
        XCTAssertEqual(u32(64), 0x25)
        XCTAssertEqual(u32(68), 0)
        // The first section (EXE) follows at 72: tag, reserved, length.
        XCTAssertEqual(u32(72), 1)
        XCTAssertEqual(u64(80), 4)
    }

    func testVDSOIsNamedAsTheShimWritesIt() {
        XCTAssertEqual(Module.vdsoPath, "[vdso]")
        XCTAssertTrue(Module(loadBias: 0, path: "[vdso]", buildID: [], segments: []).isVDSO)
        XCTAssertFalse(Module(loadBias: 0, path: "", buildID: [], segments: []).isVDSO)
    }
}
