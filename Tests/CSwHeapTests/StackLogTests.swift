// The stack log (encode_log.c, stacklog.c): each chunk holds only the stacks new since the
// last complete chunk, the module list when it changed, and the cumulative figures of the
// stacks that moved; a failed or partial write leaves the state as it was.

import CSwHeap
import CSwHeapFormat
import Glibc
import XCTest

final class StackLogTests: XCTestCase {
    private typealias F = FormatBytes
    private var stacks: UnsafeMutablePointer<sw_stack_table>!
    private var state = sw_log_state()
    private var alloc: UnsafeMutablePointer<Double>!
    private let modulesA: [UInt8] = F.u32(1) + [9, 8, 7, 6, 5]
    private let modulesB: [UInt8] = F.u32(2) + [1, 2, 3]

    override func setUpWithError() throws {
        stacks = try XCTUnwrap(sw_stacks_create(100, 1 << 20))
        alloc = .allocate(capacity: 2 * 101)
        alloc.initialize(repeating: -1, count: 2 * 101) // garbage: only logged ids may be read
        state = sw_log_state()
        state.alloc = alloc
        state.alloc_capacity = 100
    }

    override func tearDown() {
        sw_stacks_destroy(stacks)
        alloc.deallocate()
    }

    /// Every byte of a first chunk's body: all stacks but the unused reserved one, the modules,
    /// and ALLOC only for the stack that allocated.
    func testFirstChunkHoldsEveryStackTheModulesAndNonZeroFigures() throws {
        let a = intern([0x1000, 0x2000]), b = intern([0x3000])
        sw_stacks_add_weight(stacks, a, sw_weight(objects: 2, bytes: 64))
        let (body, pending) = encodeBody(modules: modulesA)
        let expected: [UInt8] = F.join(
            F.section(SW_TAG_STACKS, F.join(F.u32(2), frames(a, [0x1000, 0x2000]), frames(b, [0x3000]))),
            F.section(SW_TAG_MODULES, modulesA),
            F.section(SW_TAG_ALLOC, F.join(F.u32(1), record(a, 2, 64))),
            F.section(SW_TAG_END, []))
        XCTAssertEqual(body, expected)
        XCTAssertEqual(pending.stacks, 3)
        XCTAssertEqual(pending.alloc_count, 1)
        XCTAssertTrue(pending.modules_written)
        XCTAssertFalse(pending.reserved_written)
    }

    func testLaterChunksHoldOnlyWhatChanged() throws {
        let a = intern([0x1000]), b = intern([0x2000]), c = intern([0x3000])
        sw_stacks_add_weight(stacks, a, sw_weight(objects: 1, bytes: 10))
        sw_stacks_add_weight(stacks, b, sw_weight(objects: 1, bytes: 20))
        commit(encodeBody(modules: modulesA), length: 100)
        XCTAssertEqual(state.stacks, 4)
        XCTAssertEqual(state.length, 100)

        // Nothing moved: an empty STACKS, no MODULES, an empty ALLOC.
        var (body, _) = encodeBody(modules: modulesA)
        XCTAssertEqual(body, F.join(F.section(SW_TAG_STACKS, F.u32(0)), F.section(SW_TAG_ALLOC, F.u32(0)), F.section(SW_TAG_END, [])))

        // b and c allocated, d is new, the modules changed: a stays out of ALLOC.
        sw_stacks_add_weight(stacks, b, sw_weight(objects: 0.5, bytes: 5))
        sw_stacks_add_weight(stacks, c, sw_weight(objects: 3, bytes: 30))
        let d = intern([0x4000, 0x5000])
        let pending: sw_log_pending
        (body, pending) = encodeBody(modules: modulesB)
        let expected: [UInt8] = F.join(
            F.section(SW_TAG_STACKS, F.join(F.u32(1), frames(d, [0x4000, 0x5000]))),
            F.section(SW_TAG_MODULES, modulesB),
            F.section(SW_TAG_ALLOC, F.join(F.u32(2), record(b, 1.5, 25), record(c, 3, 30))),
            F.section(SW_TAG_END, []))
        XCTAssertEqual(body, expected)
        commit((body, pending), length: 200)
        XCTAssertEqual(state.stacks, 5)
        XCTAssertEqual([alloc[2 * Int(a)], alloc[2 * Int(b)], alloc[2 * Int(b) + 1], alloc[2 * Int(d)]], [1, 1.5, 25, 0])

        // Back to the first module list: it changed again, so it is logged again.
        (body, _) = encodeBody(modules: modulesA)
        XCTAssertTrue(F.sections(body).contains { $0.tag == SW_TAG_MODULES })
    }

    func testReservedStackIsLoggedOnceSomethingWasCountedUnderIt() throws {
        let a = intern([0x1000])
        commit(encodeBody(modules: modulesA), length: 50)
        sw_stacks_add_weight(stacks, SW_STACK_UNKNOWN, sw_weight(objects: 1, bytes: 8))
        var (body, pending) = encodeBody(modules: modulesA)
        let expected: [UInt8] = F.join(
            F.section(SW_TAG_STACKS, F.join(F.u32(1), frames(SW_STACK_UNKNOWN, []))),
            F.section(SW_TAG_ALLOC, F.join(F.u32(1), record(SW_STACK_UNKNOWN, 1, 8))),
            F.section(SW_TAG_END, []))
        XCTAssertEqual(body, expected)
        XCTAssertTrue(pending.reserved_written)
        commit((body, pending), length: 80)
        sw_stacks_add_weight(stacks, a, sw_weight(objects: 1, bytes: 1))
        (body, pending) = encodeBody(modules: modulesA)
        XCTAssertEqual(F.sections(body)[0].body, F.u32(0), "the reserved stack is not logged twice")
        XCTAssertFalse(pending.reserved_written)
    }

    /// The file: the log header, then chunk after chunk at the committed length; deflated
    /// bodies inflate to the raw ones.
    func testAppendWritesTheHeaderThenOneChunkPerDump() throws {
        let path = try temporaryFile()
        let fd = open(path, O_RDWR)
        defer { close(fd) }
        let a = intern([0x1000])
        sw_stacks_add_weight(stacks, a, sw_weight(objects: 1, bytes: 16))
        let (raw1, _) = encodeBody(modules: modulesA, state: state)
        XCTAssertTrue(append(fd, epoch: 1, modules: modulesA, deflate: false))
        sw_stacks_add_weight(stacks, a, sw_weight(objects: 1, bytes: 16))
        let (raw2, _) = encodeBody(modules: modulesA, state: state)
        XCTAssertTrue(append(fd, epoch: 2, modules: modulesA, deflate: true))

        let file = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(UInt64(file.count), state.length)
        var header = sw_format_log_header()
        withUnsafeMutableBytes(of: &header.magic) { $0.copyBytes(from: Array(SW_LOG_MAGIC.utf8)) }
        header.version = 2
        header.pid = 77
        header.start_ns = 123
        let chunk1 = sw_format_log_chunk(epoch: 1, flags: 0, raw_length: UInt64(raw1.count), stored_length: UInt64(raw1.count))
        let first: [UInt8] = F.join(F.bytes(of: header), F.bytes(of: chunk1), raw1)
        XCTAssertEqual(Array(file[0..<first.count]), first)
        let chunk: sw_format_log_chunk = F.read(file, first.count)
        XCTAssertEqual(chunk.epoch, 2)
        XCTAssertEqual(chunk.flags, SW_LOG_FLAG_DEFLATED)
        XCTAssertEqual(chunk.raw_length, UInt64(raw2.count))
        let stored = Array(file[(first.count + Int(SW_FORMAT_LOG_CHUNK_SIZE))...])
        XCTAssertEqual(UInt64(stored.count), chunk.stored_length)
        XCTAssertEqual(F.inflate(stored, expected: raw2.count), raw2)
    }

    func testFailedWriteLeavesTheStateAndTheNextChunkRepeatsWhatWasLost() throws {
        let path = try temporaryFile()
        let good = open(path, O_RDWR)
        defer { close(good) }
        let a = intern([0x1000])
        sw_stacks_add_weight(stacks, a, sw_weight(objects: 1, bytes: 16))
        XCTAssertTrue(append(good, epoch: 1, modules: modulesA, deflate: true))
        let before = state

        let b = intern([0x2000])
        sw_stacks_add_weight(stacks, a, sw_weight(objects: 1, bytes: 16))
        sw_stacks_add_weight(stacks, b, sw_weight(objects: 1, bytes: 32))
        for failing in [open(path, O_RDONLY), open("/dev/full", O_WRONLY)] { // EBADF, ENOSPC
            defer { close(failing) }
            XCTAssertGreaterThanOrEqual(failing, 0)
            XCTAssertFalse(append(failing, epoch: 2, modules: modulesB, deflate: true))
            XCTAssertEqual(state.length, before.length)
            XCTAssertEqual(state.stacks, before.stacks)
            XCTAssertEqual(state.modules_hash, before.modules_hash)
            XCTAssertEqual([alloc[2 * Int(a)], alloc[2 * Int(a) + 1]], [1, 16])
        }
        // A torn chunk beyond the committed length (a process killed mid-write) is overwritten.
        let torn = [UInt8](repeating: 0xEE, count: 4096)
        XCTAssertEqual(pwrite(good, torn, torn.count, off_t(state.length)), torn.count)
        let (raw, _) = encodeBody(modules: modulesB, state: state)
        XCTAssertEqual(F.sections(raw).map(\.tag), [SW_TAG_STACKS, SW_TAG_MODULES, SW_TAG_ALLOC, SW_TAG_END])
        XCTAssertEqual(F.sections(raw)[0].body, F.join(F.u32(1), frames(b, [0x2000])))
        XCTAssertEqual(F.sections(raw)[2].body, F.join(F.u32(2), record(a, 2, 32), record(b, 1, 32)))
        XCTAssertTrue(append(good, epoch: 3, modules: modulesB, deflate: false))
        let file = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let chunk: sw_format_log_chunk = F.read(file, Int(before.length))
        XCTAssertEqual(chunk.epoch, 3)
        let end = Int(before.length) + Int(SW_FORMAT_LOG_CHUNK_SIZE) + raw.count
        XCTAssertEqual(Array(file[(Int(before.length) + Int(SW_FORMAT_LOG_CHUNK_SIZE))..<end]), raw)
        XCTAssertEqual(state.length, UInt64(end))
    }

    // MARK: - helpers

    private func intern(_ pcs: [UInt]) -> UInt32 {
        pcs.withUnsafeBufferPointer { sw_stacks_intern(stacks, $0.baseAddress, UInt32($0.count)) }
    }

    private func frames(_ id: UInt32, _ pcs: [UInt64]) -> [UInt8] {
        F.join(F.bytes(of: sw_format_stack_frames(stack_id: id, depth: UInt32(pcs.count))), pcs.flatMap { F.u64($0) })
    }

    private func record(_ id: UInt32, _ objects: Double, _ bytes: Double) -> [UInt8] {
        F.bytes(of: sw_format_alloc(stack_id: id, reserved: 0, alloc_objects: objects, alloc_bytes: bytes))
    }

    private func encodeBody(modules: [UInt8], state: sw_log_state? = nil) -> ([UInt8], sw_log_pending) {
        var out = sw_buffer()
        defer { sw_buf_free(&out) }
        var pending = sw_log_pending()
        var s = state ?? self.state
        let ok = modules.withUnsafeBufferPointer { m in
            m.withMemoryRebound(to: CChar.self) {
                sw_encode_log_body(&out, &pending, &s, stacks, sw_stacks_count(stacks), $0.baseAddress, $0.count)
            }
        }
        XCTAssertTrue(ok)
        return (out.data.map { Array(UnsafeRawBufferPointer(start: $0, count: out.len)) } ?? [], pending)
    }

    private func commit(_ encoded: ([UInt8], sw_log_pending), length: UInt64) {
        var pending = encoded.1
        encoded.0.withUnsafeBufferPointer { body in
            body.withMemoryRebound(to: CChar.self) { sw_log_commit(&state, &pending, $0.baseAddress, length) }
        }
    }

    private func append(_ fd: Int32, epoch: UInt32, modules: [UInt8], deflate: Bool) -> Bool {
        modules.withUnsafeBufferPointer { m in
            m.withMemoryRebound(to: CChar.self) {
                sw_stacklog_append(&state, fd, 77, 123, epoch, stacks, sw_stacks_count(stacks), $0.baseAddress, $0.count, deflate)
            }
        }
    }

    private func temporaryFile() throws -> String {
        let path = NSTemporaryDirectory() + "swheap-stacklog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }
}
