// The dump encoder (encode.c): a known snapshot encodes to the layout of swheap_format.h,
// field by field, with live entries summed per (stack, birth epoch).

import CSwHeap
import CSwHeapFormat
import XCTest

final class DumpEncoderTests: XCTestCase {
    private var stacks: UnsafeMutablePointer<sw_stack_table>!

    override func setUpWithError() throws {
        stacks = try XCTUnwrap(sw_stacks_create(100, 1 << 20))
    }

    override func tearDown() {
        sw_stacks_destroy(stacks)
    }

    func testHeaderFieldsSitWhereTheFormatSays() throws {
        let bytes = encode(entries: [], flags: SW_FLAG_FINAL | SW_FLAG_TRUNCATED)
        XCTAssertEqual(MemoryLayout<sw_format_header>.size, Int(SW_FORMAT_HEADER_SIZE))
        XCTAssertEqual(Array(bytes[0..<Int(SW_FORMAT_MAGIC_SIZE)]), Array(SW_FORMAT_MAGIC.utf8))
        func field<T>(_ path: KeyPath<sw_format_header, T>, as: T.Type = T.self) -> T {
            read(bytes, MemoryLayout<sw_format_header>.offset(of: path)!)
        }
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
        XCTAssertEqual(field(\.reserved), 0)
        // The offsets docs/FORMAT.md gives.
        XCTAssertEqual(MemoryLayout<sw_format_header>.offset(of: \.epoch), 24)
        XCTAssertEqual(MemoryLayout<sw_format_header>.offset(of: \.start_ns), 48)
        XCTAssertEqual(MemoryLayout<sw_format_header>.offset(of: \.max_depth), 64)
    }

    func testSectionsComeInOrderWithTheirLengths() throws {
        let bytes = encode(entries: [], flags: 0)
        let sections = self.sections(bytes)
        XCTAssertEqual(sections.map(\.tag), [SW_TAG_EXE, SW_TAG_CMDLINE, SW_TAG_MODULES, SW_TAG_STACKS, SW_TAG_LIVE, SW_TAG_END])
        XCTAssertEqual(sections.map(\.reserved), [0, 0, 0, 0, 0, 0])
        let body = Dictionary(uniqueKeysWithValues: sections.map { ($0.tag, $0.body) })
        XCTAssertEqual(body[SW_TAG_EXE], [9, 0, 0, 0] + Array("/bin/true".utf8))
        XCTAssertEqual(body[SW_TAG_CMDLINE], Array("a\0bc\0".utf8))
        XCTAssertEqual(body[SW_TAG_MODULES], [0, 0, 0, 0])
        XCTAssertEqual(body[SW_TAG_STACKS], [0, 0, 0, 0], "no stacks but the reserved one, unused")
        XCTAssertEqual(body[SW_TAG_LIVE], [0, 0, 0, 0])
        XCTAssertEqual(body[SW_TAG_END], [])
    }

    func testStacksAreWrittenWithTheirTotalsAndReturnAddresses() throws {
        let a = intern([0x1000, 0x2000]), b = intern([0x3000])
        XCTAssertEqual([a, b], [2, 3])
        sw_stacks_add_weight(stacks, a, sw_weight(objects: 2, bytes: 64))
        sw_stacks_add_weight(stacks, b, sw_weight(objects: 1.5, bytes: 10))
        var body = try section(SW_TAG_STACKS, of: encode(entries: [], flags: 0))
        XCTAssertEqual(body.count, 4 + 2 * Int(SW_FORMAT_STACK_SIZE) + 3 * 8)
        XCTAssertEqual(read(body, 0) as UInt32, 2)
        var records: [(sw_format_stack, [UInt64])] = []
        var at = 4
        for _ in 0..<2 {
            let record: sw_format_stack = read(body, at)
            at += Int(SW_FORMAT_STACK_SIZE)
            records.append((record, (0..<Int(record.depth)).map { read(body, at + 8 * $0) }))
            at += 8 * Int(record.depth)
        }
        XCTAssertEqual(records.map(\.0.stack_id), [2, 3])
        XCTAssertEqual(records.map(\.0.alloc_objects), [2, 1.5])
        XCTAssertEqual(records.map(\.0.alloc_bytes), [64, 10])
        XCTAssertEqual(records.map(\.1), [[0x1000, 0x2000], [0x3000]])

        // The reserved empty stack is written once something was counted under it.
        sw_stacks_add_weight(stacks, SW_STACK_UNKNOWN, sw_weight(objects: 1, bytes: 8))
        body = try section(SW_TAG_STACKS, of: encode(entries: [], flags: 0))
        XCTAssertEqual(read(body, 0) as UInt32, 3)
        let first: sw_format_stack = read(body, 4)
        XCTAssertEqual(first.stack_id, SW_STACK_UNKNOWN)
        XCTAssertEqual(first.depth, 0)
    }

    func testLiveEntriesAreSummedPerStackAndBirth() throws {
        let a = intern([0x1000]), b = intern([0x2000])
        let entries = [
            (a, 1, 16, true), (a, 1, 16, false), (a, 2, 32, true), (b, 1, 100, false), (a, 1, 8, true),
        ].enumerated().map { i, e in
            (sw_snapshot_entry(ptr: 0x10000 + UInt(i) * 256, size: UInt64(e.2), stack_id: e.0, birth_epoch: UInt32(e.1)), e.3)
        }
        let body = try section(SW_TAG_LIVE, of: encode(entries: entries, flags: SW_FLAG_SCANNED))
        XCTAssertEqual(read(body, 0) as UInt32, 3)
        XCTAssertEqual(body.count, 4 + 3 * Int(SW_FORMAT_LIVE_SIZE))
        var buckets: [String: [Double]] = [:]
        for i in 0..<3 {
            let r: sw_format_live = read(body, 4 + i * Int(SW_FORMAT_LIVE_SIZE))
            buckets["\(r.stack_id)/\(r.birth_epoch)"] = [r.live_objects, r.live_bytes, r.unref_objects, r.unref_bytes]
        }
        XCTAssertEqual(buckets, ["\(a)/1": [3, 40, 2, 24], "\(a)/2": [1, 32, 1, 32], "\(b)/1": [1, 100, 0, 0]])

        // Without verdicts nothing is unreferenced; at a sampling rate each entry is unbiased.
        let rate: UInt64 = 4096
        let sampled = try section(SW_TAG_LIVE, of: encode(entries: entries.map { ($0.0, false) }, flags: 0, rate: rate, verdicts: false))
        var liveBytes = 0.0, unrefBytes = 0.0
        for i in 0..<3 {
            let r: sw_format_live = read(sampled, 4 + i * Int(SW_FORMAT_LIVE_SIZE))
            liveBytes += r.live_bytes
            unrefBytes += r.unref_bytes
        }
        let expected = entries.map { sw_sample_weight($0.0.size, rate).bytes }.reduce(0, +)
        XCTAssertEqual(liveBytes, expected, accuracy: 1e-9 * expected)
        XCTAssertGreaterThan(liveBytes, 172)
        XCTAssertEqual(unrefBytes, 0)
    }

    // MARK: - helpers

    private func intern(_ pcs: [UInt]) -> UInt32 {
        pcs.withUnsafeBufferPointer { sw_stacks_intern(stacks, $0.baseAddress, UInt32($0.count)) }
    }

    /// Encodes a fixed header and EXE/CMDLINE/MODULES bodies with these stacks and entries.
    private func encode(entries: [(sw_snapshot_entry, Bool)], flags: UInt32, rate: UInt64 = 1, verdicts: Bool = true) -> [UInt8] {
        let exe = Array("/bin/true".utf8).map { CChar(bitPattern: $0) }
        let cmdline = Array("a\0bc\0".utf8).map { CChar(bitPattern: $0) }
        let modules: [CChar] = [0, 0, 0, 0]
        var snapshot = entries.map(\.0)
        var unreferenced = entries.map(\.1)
        var out = sw_buffer()
        defer { sw_buf_free(&out) }
        let ok = exe.withUnsafeBufferPointer { exe in
            cmdline.withUnsafeBufferPointer { cmdline in
                modules.withUnsafeBufferPointer { modules in
                    var meta = sw_dump_meta()
                    meta.flags = flags
                    meta.pid = 4242
                    meta.parent_pid = 1
                    meta.epoch = 7
                    meta.wall_ns = 1_700_000_000_000_000_000
                    meta.monotonic_ns = 5_000_000_000
                    meta.start_ns = 1_000_000_000
                    meta.rate = rate
                    meta.max_depth = 64
                    meta.exe = exe.baseAddress
                    meta.exe_len = exe.count
                    meta.cmdline = cmdline.baseAddress
                    meta.cmdline_len = cmdline.count
                    meta.modules = modules.baseAddress
                    meta.modules_len = modules.count
                    return snapshot.withUnsafeMutableBufferPointer { snapshot in
                        unreferenced.withUnsafeMutableBufferPointer { unreferenced in
                            sw_encode_dump(&out, &meta, stacks, snapshot.baseAddress, snapshot.count,
                                           verdicts ? unreferenced.baseAddress : nil)
                        }
                    }
                }
            }
        }
        XCTAssertTrue(ok)
        return out.data.map { Array(UnsafeRawBufferPointer(start: $0, count: out.len)) } ?? []
    }

    private struct Section {
        var tag: UInt32, reserved: UInt32, body: [UInt8]
    }

    /// Walks the sections after the header; every byte must belong to one.
    private func sections(_ bytes: [UInt8]) -> [Section] {
        var result: [Section] = []
        var at = Int(SW_FORMAT_HEADER_SIZE)
        while at < bytes.count {
            let header: sw_format_section = read(bytes, at)
            at += Int(SW_FORMAT_SECTION_SIZE)
            let end = at + Int(header.length)
            XCTAssertLessThanOrEqual(end, bytes.count, "section \(header.tag) runs past the end")
            result.append(Section(tag: header.tag, reserved: header.reserved, body: Array(bytes[at..<min(end, bytes.count)])))
            at = end
        }
        XCTAssertEqual(at, bytes.count)
        return result
    }

    private func section(_ tag: UInt32, of bytes: [UInt8]) throws -> [UInt8] {
        try XCTUnwrap(sections(bytes).first { $0.tag == tag }?.body, "no section \(tag)")
    }

    private func read<T>(_ bytes: [UInt8], _ offset: Int) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}
