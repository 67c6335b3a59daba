// Regression tests for what scripts/fuzz-cli found: fields that frame correctly but hold values
// no shim writes (NaN, infinite, huge or negative estimates; births after the dump; rate 0...)
// used to reach the formatter and trap. Each is now a one-line DumpError naming file and field
// (the formatter itself surviving any Double is QuantityTests').

import XCTest
@testable import SwHeapDump
@testable import SwHeapSynth

final class CorruptFieldTests: XCTestCase {
    let path = "swheap.app.12/12.000003.swheap"

    // MARK: Every rule of DumpValidation, each broken once

    func testNonFiniteOrNegativeOrHugeEstimatesAreRejected() {
        let nasty: [Double] = [.nan, .infinity, -.infinity, -1, 1e308, 1e20, -0.5]
        for value in nasty {
            var dump = validDump(); dump.stacks[0].allocBytes = value
            assertField(dump, "STACKS record 0 (stack 7) alloc_bytes")
            dump = validDump(); dump.stacks[1].allocObjects = value
            assertField(dump, "STACKS record 1 (stack 9) alloc_objects")
            dump = validDump(); dump.live[1].liveBytes = value
            assertField(dump, "LIVE record 1 (stack 7) live_bytes")
            dump = validDump(); dump.live[0].liveObjects = value
            assertField(dump, "LIVE record 0 (stack 7) live_objects")
            dump = validDump(); dump.live[0].unreferencedBytes = value
            assertField(dump, "LIVE record 0 (stack 7) unref_bytes")
            dump = validDump(); dump.live[0].unreferencedObjects = value
            assertField(dump, "LIVE record 0 (stack 7) unref_objects")
        }
    }

    func testUnreferencedNeverExceedsLive() {
        var dump = validDump(); dump.live[0].unreferencedBytes = 201
        assertField(dump, "LIVE record 0 (stack 7) unref_bytes")
        dump = validDump(); dump.live[0].unreferencedObjects = 2.5
        assertField(dump, "LIVE record 0 (stack 7) unref_objects")
    }

    func testBirthEpochWithinTheDump() {
        var dump = validDump(); dump.live[1].birthEpoch = 4
        assertField(dump, "LIVE record 1 (stack 7) birth_epoch")
        dump = validDump(); dump.live[0].birthEpoch = 0
        assertField(dump, "LIVE record 0 (stack 7) birth_epoch")
    }

    func testHeaderRules() {
        var dump = validDump(); dump.header.rate = 0
        assertField(dump, "header rate")
        dump = validDump(); dump.header.rate = DumpValidation.maxRate + 1
        assertField(dump, "header rate")
        dump = validDump(); dump.header.maxDepth = 0
        assertField(dump, "header max_depth")
        dump = validDump(); dump.header.maxDepth = DumpValidation.maxDepth + 1
        assertField(dump, "header max_depth")
        dump = validDump(); dump.header.startMonotonicNs = dump.header.monotonicNs + 1
        assertField(dump, "header start_ns")
        dump = validDump(); dump.header.pid = 0
        assertField(dump, "header pid")
        dump = validDump(); dump.header.pid = -5
        assertField(dump, "header pid")
        dump = validDump(); dump.header.parentPID = -1
        assertField(dump, "header parent_pid")
        dump = validDump(); dump.header.epoch = 0
        assertField(dump, "header epoch")
        dump = validDump(); dump.header.epoch = UInt64(UInt32.max) + 1
        assertField(dump, "header epoch")
        var bytes = DumpWriter.encode(validDump())
        bytes[12] |= 0x80  // flags: an undefined bit
        assertField(bytes, "header flags")
    }

    func testStackDepthAndSegmentRules() {
        var dump = validDump(); dump.stacks[1].frames = Array(repeating: 0x1000, count: Int(DumpValidation.maxDepth) + 1)
        assertField(dump, "STACKS record 1 (stack 9) depth")
        dump = validDump(); dump.modules[0].segments[0].end = dump.modules[0].segments[0].start - 1
        assertField(dump, "MODULES module 0 segment start")
    }

    func testBoundaryValuesAreAccepted() throws {
        var dump = validDump()
        dump.header.rate = 1
        dump.header.maxDepth = DumpValidation.maxDepth
        dump.header.startMonotonicNs = dump.header.monotonicNs
        dump.stacks[0].allocBytes = DumpValidation.maxEstimate
        dump.stacks[1].frames = Array(repeating: 0x1000, count: Int(DumpValidation.maxDepth))
        dump.live[0].unreferencedBytes = dump.live[0].liveBytes
        dump.live[1].birthEpoch = 3
        XCTAssertNoThrow(try DumpReader.decode(DumpWriter.encode(dump), path: path))
        dump.header.rate = DumpValidation.maxRate
        XCTAssertNoThrow(try DumpReader.decode(DumpWriter.encode(dump), path: path))
    }

    // MARK: Property: any f64 of a record set to anything gives valid figures or one error

    func testMutatedEstimatesGiveValidFiguresOrOneError() {
        let bytes = DumpWriter.encode(validDump())
        let offsets = estimateOffsets(bytes)
        XCTAssertEqual(offsets.count, 2 * 2 + 2 * 4)
        var random = SplitMix64(seed: 13)
        let nasty: [Double] = [.nan, .infinity, -.infinity, 1e308, -1e308, -1, 1e19, 0x1p64, 0x1p64.nextUp, .leastNonzeroMagnitude, 0, 1]
        for _ in 0..<5_000 {
            var mutated = bytes
            for _ in 0..<(1 + random.next() % 3) {
                let at = offsets[Int(random.next() % UInt64(offsets.count))]
                let value = random.next() % 2 == 0 ? nasty[Int(random.next() % UInt64(nasty.count))]
                                                   : Double(bitPattern: random.next())
                withUnsafeBytes(of: value.bitPattern.littleEndian) { mutated.replaceSubrange(at..<at + 8, with: $0) }
            }
            do throws(DumpError) {
                let dump = try DumpReader.decode(mutated, path: path)
                for stack in dump.stacks {
                    XCTAssertTrue(valid(stack.allocObjects) && valid(stack.allocBytes))
                }
                for cell in dump.live {
                    XCTAssertTrue(valid(cell.liveObjects) && valid(cell.liveBytes))
                    XCTAssertTrue(cell.unreferencedObjects <= cell.liveObjects && cell.unreferencedBytes <= cell.liveBytes)
                }
            } catch {
                XCTAssertTrue(error.description.hasPrefix(path + ": "))
                XCTAssertFalse(error.description.contains("\n"))
            }
        }
    }

    // MARK: Helpers

    private func valid(_ value: Double) -> Bool { value.isFinite && value >= 0 && value <= 0x1p64 }

    private func assertField(_ dump: Dump, _ field: String, line: UInt = #line) {
        assertField(DumpWriter.encode(dump), field, line: line)
    }

    private func assertField(_ bytes: [UInt8], _ field: String, line: UInt = #line) {
        do throws(DumpError) {
            _ = try DumpReader.decode(bytes, path: path)
            XCTFail("accepted a dump with a bad \(field)", line: line)
        } catch {
            guard case .invalidField(let named, _, _) = error.problem else {
                return XCTFail("\(error) is not about \(field)", line: line)
            }
            XCTAssertEqual(named, field, line: line)
            XCTAssertTrue(error.description.hasPrefix(path + ": " + field + " is "), error.description, line: line)
            XCTAssertFalse(error.description.contains("\n"), line: line)
        }
    }

    /// Offsets of the f64 fields of the STACKS and LIVE records (the dump has no other f64).
    private func estimateOffsets(_ bytes: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var at = DumpLayout.headerSize
        func u32(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        while at + DumpLayout.sectionHeaderSize <= bytes.count {
            let tag = UInt32(u32(at)), length = u32(at + 8)
            let body = at + DumpLayout.sectionHeaderSize
            if tag == DumpLayout.Tag.stacks.rawValue {
                var record = body + 4
                for _ in 0..<u32(body) {
                    offsets += [record + 8, record + 16]
                    record += Int(DumpLayout.stackRecordSize) + 8 * u32(record + 4)
                }
            } else if tag == DumpLayout.Tag.live.rawValue {
                for i in 0..<u32(body) {
                    let record = body + 4 + i * Int(DumpLayout.liveRecordSize)
                    offsets += [record + 8, record + 16, record + 24, record + 32]
                }
            }
            at = body + length
        }
        return offsets
    }

    private func validDump() -> Dump {
        Dump(header: DumpHeader(isFinal: true, isScanned: true, pid: 12, parentPID: 1, epoch: 3,
                                wallTimeNs: 1_700_000_000_000_000_000, monotonicNs: 12_000_000_000,
                                startMonotonicNs: 9_000_000_000, rate: 524_288, maxDepth: 64),
             executable: "/usr/bin/app", commandLine: ["/usr/bin/app"],
             modules: [Module(loadBias: 0x5555_0000_0000, path: "/usr/bin/app", buildID: [0xab],
                              segments: [Segment(start: 0x5555_0000_0000, end: 0x5555_0001_0000, fileOffset: 0, flags: 5)])],
             stacks: [StackRecord(id: 7, frames: [0x5555_0000_1234], allocObjects: 10.5, allocBytes: 1024.25),
                      StackRecord(id: 9, frames: [], allocObjects: 1, allocBytes: 16)],
             live: [LiveCell(stackID: 7, birthEpoch: 1, liveObjects: 2, liveBytes: 200, unreferencedObjects: 1, unreferencedBytes: 100),
                    LiveCell(stackID: 7, birthEpoch: 3, liveObjects: 1.5, liveBytes: 150)])
    }
}
