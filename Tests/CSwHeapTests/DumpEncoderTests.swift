// The epoch-file encoder (encode.c): a known snapshot encodes to the v2 layout of
// swheap_format.h byte for byte, with live entries summed per (stack, birth cohort).

import CSwHeap
import CSwHeapFormat
import XCTest

final class DumpEncoderTests: XCTestCase {
    private typealias F = FormatBytes

    func testHeaderFieldsSitWhereTheFormatSays() throws {
        let bytes = encode(entries: [], flags: SW_FLAG_FINAL | SW_FLAG_TRUNCATED, epoch: 7)
        XCTAssertEqual(MemoryLayout<sw_format_header>.size, Int(SW_FORMAT_HEADER_SIZE))
        XCTAssertEqual(Array(bytes[0..<Int(SW_FORMAT_MAGIC_SIZE)]), Array(SW_FORMAT_MAGIC.utf8))
        func field<T>(_ path: KeyPath<sw_format_header, T>, as: T.Type = T.self) -> T {
            F.read(bytes, MemoryLayout<sw_format_header>.offset(of: path)!)
        }
        XCTAssertEqual(field(\.version), 2)
        XCTAssertEqual(field(\.version), SW_FORMAT_VERSION)
        XCTAssertEqual(field(\.flags), SW_FLAG_FINAL | SW_FLAG_TRUNCATED)
        XCTAssertEqual(field(\.pid), 4242)
        XCTAssertEqual(field(\.parent_pid), 1)
        XCTAssertEqual(field(\.epoch), 7)
        XCTAssertEqual(field(\.wall_ns), 1_700_000_000_000_000_000)
        XCTAssertEqual(field(\.monotonic_ns), 5_000_000_000)
        XCTAssertEqual(field(\.start_ns), 1_000_000_000)
        XCTAssertEqual(field(\.rate), 1)
        XCTAssertEqual(field(\.max_depth), 64)
        XCTAssertEqual(field(\.scan_fallback), 0, "no scan: no fallback reason")
        // The offsets docs/FORMAT.md gives.
        XCTAssertEqual(MemoryLayout<sw_format_header>.offset(of: \.epoch), 24)
        XCTAssertEqual(MemoryLayout<sw_format_header>.offset(of: \.start_ns), 48)
        XCTAssertEqual(MemoryLayout<sw_format_header>.offset(of: \.max_depth), 64)
        XCTAssertEqual(MemoryLayout<sw_format_header>.offset(of: \.scan_fallback), 68)
    }

    /// Every byte of a small plain epoch file, cohorts included: at epoch 20, births 1 and 3
    /// share the cohort 1..4 (sw_cohort_of), birth 17 stays single; records come sorted by
    /// stack id, then first birth.
    func testEveryByteOfASmallEpochFile() throws {
        let a: UInt32 = 2, b: UInt32 = 3
        let entries: [(UInt32, UInt32, UInt64, Bool)] = [(b, 17, 100, false), (a, 1, 16, true), (a, 17, 4, true), (a, 3, 8, false)]
        let bytes = encode(entries: entries, flags: SW_FLAG_SCANNED, epoch: 20)

        var header = sw_format_header()
        withUnsafeMutableBytes(of: &header.magic) { $0.copyBytes(from: Array(SW_FORMAT_MAGIC.utf8)) }
        header.version = 2
        header.flags = SW_FLAG_SCANNED
        header.pid = 4242
        header.parent_pid = 1
        header.epoch = 20
        header.wall_ns = 1_700_000_000_000_000_000
        header.monotonic_ns = 5_000_000_000
        header.start_ns = 1_000_000_000
        header.rate = 1
        header.max_depth = 64
        func cohort(_ stack: UInt32, _ first: UInt32, _ last: UInt32, _ figures: [Double]) -> [UInt8] {
            F.bytes(of: sw_format_cohort(stack_id: stack, birth_first: first, birth_last: last, reserved: 0,
                                         live_objects: figures[0], live_bytes: figures[1],
                                         unref_objects: figures[2], unref_bytes: figures[3]))
        }
        let logName = Array("4242.000001.log".utf8)
        let logBody: [UInt8] = F.join(F.u64(123_456), F.u32(UInt32(logName.count)), logName)
        let cohorts: [UInt8] = F.join(F.u32(3), cohort(a, 1, 4, [2, 24, 1, 16]), cohort(a, 17, 17, [1, 4, 1, 4]),
                                      cohort(b, 17, 17, [1, 100, 0, 0]))
        let expected: [UInt8] = F.join(
            F.bytes(of: header),
            F.section(SW_TAG_EXE, F.join(F.u32(9), Array("/bin/true".utf8))),
            F.section(SW_TAG_CMDLINE, Array("a\0bc\0".utf8)),
            F.section(SW_TAG_LOG, logBody),
            F.section(SW_TAG_COHORTS, cohorts),
            F.section(SW_TAG_END, []))
        XCTAssertEqual(bytes.count, expected.count)
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual(F.sections(bytes, from: Int(SW_FORMAT_HEADER_SIZE)).map(\.tag),
                       [SW_TAG_EXE, SW_TAG_CMDLINE, SW_TAG_LOG, SW_TAG_COHORTS, SW_TAG_END])
    }

    /// An attached process's dumps carry ATTACH between LOG and COHORTS, its fields where the
    /// format says; other dumps have none.
    func testAttachSectionOnlyWhenAttached() throws {
        let plain = F.sections(encode(entries: [], flags: 0, epoch: 3), from: Int(SW_FORMAT_HEADER_SIZE))
        XCTAssertFalse(plain.map(\.tag).contains(SW_TAG_ATTACH))
        let record = sw_format_attach(attached_wall_ns: 1_700_000_000_000_000_000, detached_wall_ns: 1_700_000_060_000_000_000,
                                      heap_before_bytes: 123_456_789, flags: SW_ATTACH_HEAP_KNOWN, reserved: 0)
        let bytes = encode(entries: [], flags: 0, epoch: 3, attach: record)
        let sections = F.sections(bytes, from: Int(SW_FORMAT_HEADER_SIZE))
        XCTAssertEqual(sections.map(\.tag), [SW_TAG_EXE, SW_TAG_CMDLINE, SW_TAG_LOG, SW_TAG_ATTACH, SW_TAG_COHORTS, SW_TAG_END])
        let body = try XCTUnwrap(sections.first { $0.tag == SW_TAG_ATTACH }?.body)
        XCTAssertEqual(body.count, Int(SW_FORMAT_ATTACH_SIZE))
        XCTAssertEqual(body, F.join(F.u64(1_700_000_000_000_000_000), F.u64(1_700_000_060_000_000_000), F.u64(123_456_789),
                                    F.u32(1), F.u32(0)))
    }

    /// With a memory picture, MEMORY follows COHORTS as the record's bytes, and END follows it.
    func testMemoryRecordFollowsTheCohorts() throws {
        var memory = sw_format_memory()
        memory.version = SW_MEMORY_VERSION
        memory.size = SW_FORMAT_MEMORY_SIZE
        memory.allocator = SW_ALLOCATOR_GLIBC
        memory.valid = SW_MEMORY_RSS | SW_MEMORY_IN_USE
        memory.rss_bytes = 123 << 20
        memory.in_use_bytes = 1 << 20
        memory.sampled_live_bytes = 900_000
        let bytes = encode(entries: [(2, 1, 16, false)], flags: 0, epoch: 3, memory: memory)
        let sections = F.sections(bytes, from: Int(SW_FORMAT_HEADER_SIZE))
        XCTAssertEqual(sections.map(\.tag), [SW_TAG_EXE, SW_TAG_CMDLINE, SW_TAG_LOG, SW_TAG_COHORTS, SW_TAG_MEMORY, SW_TAG_END])
        XCTAssertEqual(sections[4].body, F.bytes(of: memory))
        XCTAssertEqual(sections[4].body.count, Int(SW_FORMAT_MEMORY_SIZE))
        // The offsets docs/FORMAT.md gives.
        XCTAssertEqual(MemoryLayout<sw_format_memory>.offset(of: \.rss_bytes), 16)
        XCTAssertEqual(MemoryLayout<sw_format_memory>.offset(of: \.arenas), 64)
        XCTAssertEqual(MemoryLayout<sw_format_memory>.offset(of: \.allocator_ns), 72)
        XCTAssertEqual(MemoryLayout<sw_format_memory>.offset(of: \.sampled_live_bytes), 80)
        XCTAssertEqual(MemoryLayout<sw_format_memory>.offset(of: \.raw), 88)
    }

    func testDeflatedFileIsTheSameHeaderAndOneZlibStreamOfTheSections() throws {
        let entries: [(UInt32, UInt32, UInt64, Bool)] = (0..<500).map { (i: Int) -> (UInt32, UInt32, UInt64, Bool) in
            (UInt32(2 + i % 40), UInt32(1 + i % 30), UInt64(16 + i), false)
        }
        let plain = encode(entries: entries, flags: SW_FLAG_FINAL, epoch: 30)
        let deflated = encode(entries: entries, flags: SW_FLAG_FINAL, epoch: 30, deflate: true)
        let headerSize = Int(SW_FORMAT_HEADER_SIZE)
        XCTAssertEqual(F.read(deflated, 12) as UInt32, SW_FLAG_FINAL | SW_FLAG_DEFLATED)
        XCTAssertEqual(F.read(plain, 12) as UInt32, SW_FLAG_FINAL)
        XCTAssertEqual(Array(deflated[0..<12]), Array(plain[0..<12]))
        XCTAssertEqual(Array(deflated[16..<headerSize]), Array(plain[16..<headerSize]))
        let inflated = try XCTUnwrap(F.inflate(Array(deflated[headerSize...]), expected: plain.count), "not a zlib stream")
        XCTAssertEqual(inflated, Array(plain[headerSize...]))
        XCTAssertLessThan(deflated.count, plain.count / 2, "the cohorts deflate")
    }

    func testSampledEntriesAreUnbiasedAndUnreferencedOnlyWithVerdicts() throws {
        let entries: [(UInt32, UInt32, UInt64, Bool)] = [(2, 1, 16, true), (2, 1, 16, false), (2, 2, 32, true), (3, 1, 100, false)]
        let rate: UInt64 = 4096
        let body = try XCTUnwrap(F.sections(encode(entries: entries, flags: 0, epoch: 2, rate: rate, verdicts: false),
                                            from: Int(SW_FORMAT_HEADER_SIZE)).first { $0.tag == SW_TAG_COHORTS }).body
        XCTAssertEqual(F.read(body, 0) as UInt32, 3)
        var liveBytes = 0.0, unrefBytes = 0.0
        for i in 0..<3 {
            let r: sw_format_cohort = F.read(body, 4 + i * Int(SW_FORMAT_COHORT_SIZE))
            liveBytes += r.live_bytes
            unrefBytes += r.unref_bytes
        }
        let expected = entries.map { sw_sample_weight($0.2, rate).bytes }.reduce(0, +)
        XCTAssertEqual(liveBytes, expected, accuracy: 1e-9 * expected)
        XCTAssertGreaterThan(liveBytes, 164)
        XCTAssertEqual(unrefBytes, 0)
    }

    /// Cohorts of an earlier dump nest inside one cohort of a later one (the reader re-keys
    /// cells by them), and the newest epochs stay single.
    func testCohortsOnlyMergeAsEpochsGrow() {
        for epoch: UInt32 in stride(from: 1, through: 3000, by: 7) {
            for birth in stride(from: UInt32(1), through: epoch, by: 3) {
                var first: UInt32 = 0, last: UInt32 = 0, laterFirst: UInt32 = 0, laterLast: UInt32 = 0
                sw_cohort_of(birth, epoch, &first, &last)
                sw_cohort_of(birth, epoch + 5, &laterFirst, &laterLast)
                XCTAssertTrue(first <= birth && birth <= last && last <= epoch, "\(birth)@\(epoch): \(first)..\(last)")
                XCTAssertTrue(laterFirst <= first && last <= laterLast, "\(birth)@\(epoch) does not nest")
                if birth + 2 * SW_COHORT_DETAIL > epoch { XCTAssertEqual(first, last) }
            }
        }
    }

    // MARK: - helpers

    /// Encodes a fixed header and EXE/CMDLINE/LOG bodies with these (stack, birth, size,
    /// unreferenced) entries.
    private func encode(entries: [(UInt32, UInt32, UInt64, Bool)], flags: UInt32, epoch: UInt64, rate: UInt64 = 1,
                        verdicts: Bool = true, deflate: Bool = false, attach: sw_format_attach? = nil,
                        memory: sw_format_memory? = nil) -> [UInt8] {
        var attachRecord = attach ?? sw_format_attach()
        let exe = Array("/bin/true".utf8).map { CChar(bitPattern: $0) }
        let cmdline = Array("a\0bc\0".utf8).map { CChar(bitPattern: $0) }
        let logName = Array("4242.000001.log".utf8).map { CChar(bitPattern: $0) }
        var snapshot = entries.enumerated().map { i, e in
            sw_snapshot_entry(ptr: 0x10000 + UInt(i) * 256, size: e.2, stack_id: e.0, birth_epoch: e.1)
        }
        var unreferenced = entries.map(\.3)
        var picture = memory ?? sw_format_memory()
        var out = sw_buffer()
        defer { sw_buf_free(&out) }
        let ok = exe.withUnsafeBufferPointer { exe in
            cmdline.withUnsafeBufferPointer { cmdline in
                logName.withUnsafeBufferPointer { logName in
                    var meta = sw_dump_meta()
                    meta.flags = flags
                    meta.pid = 4242
                    meta.parent_pid = 1
                    meta.epoch = epoch
                    meta.wall_ns = 1_700_000_000_000_000_000
                    meta.monotonic_ns = 5_000_000_000
                    meta.start_ns = 1_000_000_000
                    meta.rate = rate
                    meta.max_depth = 64
                    meta.exe = exe.baseAddress
                    meta.exe_len = exe.count
                    meta.cmdline = cmdline.baseAddress
                    meta.cmdline_len = cmdline.count
                    meta.log_length = 123_456
                    meta.log_name = logName.baseAddress
                    meta.log_name_len = logName.count
                    meta.deflate = deflate
                    return withUnsafePointer(to: &attachRecord) { record in
                        meta.attach = attach == nil ? nil : record
                        return withUnsafePointer(to: &picture) { picture in
                            meta.memory = memory == nil ? nil : picture
                            return snapshot.withUnsafeMutableBufferPointer { snapshot in
                                unreferenced.withUnsafeMutableBufferPointer { unreferenced in
                                    sw_encode_dump(&out, &meta, snapshot.baseAddress, snapshot.count,
                                                   verdicts ? unreferenced.baseAddress : nil)
                                }
                            }
                        }
                    }
                }
            }
        }
        XCTAssertTrue(ok)
        return out.data.map { Array(UnsafeRawBufferPointer(start: $0, count: out.len)) } ?? []
    }
}
