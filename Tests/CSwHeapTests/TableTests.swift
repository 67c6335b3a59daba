// The shim's live table and stack table, unit-tested through the same C sources.

import CSwHeap
import XCTest

final class TableTests: XCTestCase {
    func testLiveTableInsertRemoveAndFilter() throws {
        let table = try XCTUnwrap(sw_live_create())
        defer { sw_live_destroy(table) }
        let base: UInt = 0x7f00_0000_0000
        for i in 0..<100_000 {
            XCTAssertTrue(sw_live_insert(table, base + UInt(i) * 16, UInt64(i), 7, 1))
        }
        XCTAssertEqual(sw_live_count(table), 100_000)
        var entry = sw_live_entry()
        XCTAssertTrue(sw_live_remove(table, base + 16 * 5, &entry))
        XCTAssertEqual(entry.size, 5)
        XCTAssertFalse(sw_live_remove(table, base + 16 * 5, nil), "removed once only")
        for i in stride(from: 0, to: 100_000, by: 1) where i != 5 { _ = sw_live_remove(table, base + UInt(i) * 16, nil) }
        XCTAssertEqual(sw_live_count(table), 0)
        // Every counter is back to zero: unsampled frees stop at the filter again.
        XCTAssertFalse(sw_live_maybe_contains(table, base + 16 * 42))
    }

    func testStackTableDeduplicatesAndSumsWeights() throws {
        let table = try XCTUnwrap(sw_stacks_create(1000, 1 << 20))
        defer { sw_stacks_destroy(table) }
        let a: [UInt] = [1, 2, 3], b: [UInt] = [1, 2, 4]
        let ida = a.withUnsafeBufferPointer { sw_stacks_intern(table, $0.baseAddress, 3) }
        let idb = b.withUnsafeBufferPointer { sw_stacks_intern(table, $0.baseAddress, 3) }
        let again = a.withUnsafeBufferPointer { sw_stacks_intern(table, $0.baseAddress, 3) }
        XCTAssertEqual(ida, again)
        XCTAssertNotEqual(ida, idb)
        sw_stacks_add_weight(table, ida, sw_weight(objects: 2, bytes: 64))
        sw_stacks_add_weight(table, ida, sw_weight(objects: 1, bytes: 32))
        let stack = try XCTUnwrap(sw_stacks_get(table, ida))
        XCTAssertEqual(sw_stacks_alloc_objects(stack), 3)
        XCTAssertEqual(sw_stacks_alloc_bytes(stack), 96)
    }

    func testStackTableFullFallsBackToUnknown() throws {
        let table = try XCTUnwrap(sw_stacks_create(3, 1 << 20)) // id 1 is the empty stack
        defer { sw_stacks_destroy(table) }
        var ids: [UInt32] = []
        for i in 0..<5 {
            let pcs: [UInt] = [UInt(i) + 100]
            ids.append(pcs.withUnsafeBufferPointer { sw_stacks_intern(table, $0.baseAddress, 1) })
        }
        XCTAssertEqual(ids, [2, 3, 1, 1, 1])
    }
}
