// The dump layout as Swift reads it from swheap_format.h agrees with docs/FORMAT.md.

import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapSynth

final class FormatLayoutTests: XCTestCase {
    func testConstantsComeFromTheHeader() {
        XCTAssertEqual(DumpLayout.magic, Array("SWHEAPD1".utf8))
        XCTAssertEqual(DumpLayout.version, 2, "the shim writes v2")
        XCTAssertEqual([DumpLayout.flagFinal, DumpLayout.flagScanned, DumpLayout.flagTruncated], [1, 2, 4])
        XCTAssertEqual(DumpLayout.Tag.allCases.map(\.rawValue), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xFFFF_FFFF])
        XCTAssertEqual(DumpLayout.Tag.allCases.map(\.name),
                       ["EXE", "CMDLINE", "MODULES", "STACKS", "LIVE", "LOG", "COHORTS", "ALLOC", "THREADS", "MEMORY", "ATTACH", "SCAN", "END"])
        XCTAssertEqual(DumpLayout.Tag(rawValue: 4), .stacks)
        XCTAssertEqual(DumpLayout.Tag(rawValue: 9), .threads)
        XCTAssertEqual(DumpLayout.logMagic, Array("SWHEAPL2".utf8))
        XCTAssertEqual([DumpLayout.oldestVersion, DumpLayout.logVersion], [1, 2])
        XCTAssertEqual(DumpLayout.flagDeflated, 16)
    }

    /// swheap_format.h asserts each struct's size against its own constant; only a test can
    /// hold the header to the specification: every record's fixed part, added up from the
    /// field types in the tables of docs/FORMAT.md, is the size the reader steps by.
    func testRecordSizesAreThoseOfFormatMDTables() throws {
        let format = try FormatTables(path: FormatTables.defaultPath)
        XCTAssertEqual(try format.fixedSize(under: "Header (72 bytes)"), DumpLayout.headerSize)
        XCTAssertEqual(try format.fixedSize(under: "Sections"), DumpLayout.sectionHeaderSize)
        XCTAssertEqual(try format.fixedSize(under: "COHORTS"), Int(DumpLayout.cohortRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "ATTACH"), Int(DumpLayout.attachRecordSize))
        // SCAN: the record and its u32 count, then per-stack COHORTS records.
        XCTAssertEqual(try format.fixedSize(under: "SCAN"), Int(DumpLayout.scanRecordSize) + 4)
        XCTAssertEqual(try format.fixedSize(under: "SCAN", table: 1), Int(DumpLayout.holderRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "SCAN", table: 2), Int(DumpLayout.stepRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "SCAN", table: 3), Int(DumpLayout.componentRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "Stack log", table: 0), DumpLayout.logHeaderSize)
        XCTAssertEqual(try format.fixedSize(under: "Stack log", table: 1), DumpLayout.logChunkSize)
        XCTAssertEqual(try format.fixedSize(under: "MODULES"), Int(DumpLayout.moduleRecordMinimum))
        XCTAssertEqual(try format.segmentSize(under: "MODULES"), Int(DumpLayout.segmentRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "STACKS"), Int(DumpLayout.stackFramesRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "ALLOC"), Int(DumpLayout.allocRecordSize))
        // THREADS: the fixed part and its u32 count, then the site records.
        XCTAssertEqual(try format.fixedSize(under: "THREADS", table: 0), Int(DumpLayout.threadsSize) + 4)
        XCTAssertEqual(try format.fixedSize(under: "THREADS", table: 1), Int(DumpLayout.threadSiteRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "STACKS (version 1)"), Int(DumpLayout.stackRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "LIVE (version 1)"), Int(DumpLayout.liveRecordSize))
        XCTAssertEqual(try format.fixedSize(under: "MEMORY"), DumpLayout.memoryRecordSize)
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

/// The record tables of docs/FORMAT.md: `| type | field |` (or `| offset | type | field |`)
/// rows under a heading.
struct FormatTables {
    static let defaultPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/FORMAT.md").path

    /// Per heading (without the #s), its tables, each the type column of its rows.
    private var tables: [String: [[String]]] = [:]

    init(path: String) throws {
        var heading = "", inTable = false
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                inTable = false
                continue
            }
            guard line.hasPrefix("|") else { inTable = false; continue }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if !inTable {  // the header row starts a table
                inTable = true
                tables[heading, default: []].append([])
                continue
            }
            if cells.allSatisfy({ $0.allSatisfy { $0 == "-" } }) { continue }  // |---|---|
            // The type is the first column, or the second after an offset column.
            let type = cells.count >= 3 && Int(cells[0]) != nil ? cells[1] : cells[0]
            tables[heading]![tables[heading]!.count - 1].append(type)
        }
    }

    /// Bytes of the record's fixed part: its fields up to the first one of variable length
    /// (a string counts its u32 length only: the record's minimum).
    func fixedSize(under heading: String, table: Int = 0) throws -> Int {
        var bytes = 0
        for type in try types(under: heading, table: table) {
            guard let size = Self.size(of: type) else { break }
            bytes += size
        }
        return bytes
    }

    /// Bytes of one segment, from the `per segment: u64, ...` row of MODULES.
    func segmentSize(under heading: String) throws -> Int {
        let row = try XCTUnwrap(types(under: heading, table: 0).first { $0.hasPrefix("per segment:") })
        return try row.dropFirst("per segment:".count).split(separator: ",").reduce(0) { sum, type in
            try sum + XCTUnwrap(Self.size(of: type.trimmingCharacters(in: .whitespaces)), "type \(type)")
        }
    }

    private func types(under heading: String, table: Int) throws -> [String] {
        let found = try XCTUnwrap(tables[heading], "no table under \"\(heading)\" in FORMAT.md")
        return try XCTUnwrap(table < found.count ? found[table] : nil, "no table \(table) under \"\(heading)\"")
    }

    /// A fixed-size type's bytes; nil for a variable one (`u64[d]`, `...`, a list of segments).
    private static func size(of type: String) -> Int? {
        switch type {
        case "u32", "string": return 4
        case "u64", "f64": return 8
        default:
            if type.hasPrefix("u64["), type.hasSuffix("]"), let n = Int(type.dropFirst(4).dropLast()) { return 8 * n }
            guard type.hasPrefix("u8["), type.hasSuffix("]") else { return nil }
            return Int(type.dropFirst(3).dropLast())
        }
    }
}
