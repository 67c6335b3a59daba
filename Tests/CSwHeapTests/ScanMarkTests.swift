// The exit scan's mark phase (scan_conservative.c): the page set, the object lookup and the transitive
// mark, with roots handed in by the test instead of read from the process's mappings.

import CSwHeap
import XCTest

final class ScanMarkTests: XCTestCase {
    func testPageSetHoldsWhatWasAdded() throws {
        var set = sw_page_set()
        XCTAssertTrue(sw_page_set_init(&set, 100))
        defer { sw_page_set_free(&set) }
        for page in stride(from: 0 as UInt, to: 100 * 7, by: 7) { sw_page_set_add(&set, page) }
        sw_page_set_add(&set, 14) // again: no second slot
        for page in 0 as UInt..<700 {
            XCTAssertEqual(sw_page_set_contains(&set, page), page % 7 == 0, "page \(page)")
        }
        let filled = (0...set.mask).filter { set.slots[Int($0)] != 0 }.count
        XCTAssertEqual(filled, 100)
        XCTAssertGreaterThanOrEqual(set.mask + 1, 200, "at most half full")
    }

    /// Objects are sorted by address; an address belongs to the object it falls in, interior
    /// addresses included, the end excluded; a zero-size object owns its first byte.
    func testObjectLookupFindsContainingObject() throws {
        var entries = [
            entry(0x20000, 3 * 4096, id: 3),
            entry(0x10000, 16, id: 1),
            entry(0x10010, 0, id: 2),
        ]
        var verdicts = [Bool](repeating: false, count: entries.count)
        try entries.withUnsafeMutableBufferPointer { objects in
            try verdicts.withUnsafeMutableBufferPointer { unreferenced in
                var scan = sw_scan()
                XCTAssertTrue(sw_scan_begin(&scan, objects.baseAddress, objects.count, unreferenced.baseAddress))
                defer { sw_scan_end(&scan) }
                XCTAssertEqual(objects.map(\.stack_id), [1, 2, 3], "sorted by address")
                let expected: [(UInt, Int)] = [
                    (0x0FFFF, -1), (0x10000, 0), (0x1000F, 0), (0x10010, 1), (0x10011, -1),
                    (0x1FFFF, -1), (0x20000, 2), (0x20000 + 8191, 2), (0x20000 + 3 * 4096 - 1, 2), (0x20000 + 3 * 4096, -1),
                ]
                for (address, index) in expected {
                    XCTAssertEqual(sw_scan_object_at(&scan, address), index, String(address, radix: 16))
                }
                for page: UInt in [0x10, 0x20, 0x21, 0x22] { XCTAssertTrue(sw_page_set_contains(&scan.pages, page)) }
                for page: UInt in [0x11, 0x1F, 0x23] { XCTAssertFalse(sw_page_set_contains(&scan.pages, page)) }
                XCTAssertEqual(Array(unreferenced), [true, true, true], "nothing is referenced before the roots")
                // Unmapped roots are skipped, never faulted on.
                sw_scan_root(&scan, 0x1000, 0x3000)
                XCTAssertEqual(Array(unreferenced), [true, true, true])
                _ = try XCTUnwrap(scan.chunk)
            }
        }
    }

    /// LeakSanitizer's semantics over real memory: what roots reach directly or through other
    /// objects is referenced, interior pointers count; a self-pointer or a cycle among dropped
    /// objects does not keep them, nor does a pointer just past an object's end.
    func testMarkIsTransitiveAndIgnoresCyclesAndSelfPointers() throws {
        let size = 64
        let names = ["root", "viaRoot", "interior", "viaInterior", "selfish", "cycleA", "cycleB", "pastEnd", "empty"]
        let blocks = names.map { _ in UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16) }
        defer { blocks.forEach { $0.deallocate() } }
        for b in blocks { b.initializeMemory(as: UInt8.self, repeating: 0, count: size) }
        func at(_ name: String) -> UnsafeMutableRawPointer { blocks[names.firstIndex(of: name)!] }
        func address(_ name: String, plus offset: Int = 0) -> UInt { UInt(bitPattern: at(name) + offset) }
        func store(_ value: UInt, in name: String, word: Int) { at(name).storeBytes(of: value, toByteOffset: 8 * word, as: UInt.self) }

        store(address("viaRoot"), in: "root", word: 3)
        store(address("viaInterior", plus: 40), in: "interior", word: 0)
        store(address("selfish"), in: "selfish", word: 1)
        store(address("cycleB"), in: "cycleA", word: 0)
        store(address("cycleA", plus: 8), in: "cycleB", word: 7)

        // "pastEnd" is recorded as 48 bytes: a pointer to its 48th byte points past it.
        var entries = names.enumerated().map { i, name in
            entry(address(name), name == "pastEnd" ? 48 : name == "empty" ? 0 : UInt64(size), id: UInt32(i + 1))
        }
        let roots: [UInt] = [0, address("root"), 12345, address("interior", plus: 17), address("pastEnd", plus: 48), address("empty")]
        var verdicts = [Bool](repeating: false, count: entries.count)
        entries.withUnsafeMutableBufferPointer { objects in
            verdicts.withUnsafeMutableBufferPointer { unreferenced in
                var scan = sw_scan()
                XCTAssertTrue(sw_scan_begin(&scan, objects.baseAddress, objects.count, unreferenced.baseAddress))
                roots.withUnsafeBufferPointer { words in
                    let lo = UInt(bitPattern: words.baseAddress)
                    sw_scan_root(&scan, lo, lo + UInt(words.count * MemoryLayout<UInt>.stride))
                }
                sw_scan_end(&scan)
            }
        }
        var unreferenced: [String: Bool] = [:]
        for (i, e) in entries.enumerated() { unreferenced[names[Int(e.stack_id) - 1]] = verdicts[i] }
        XCTAssertEqual(unreferenced, [
            "root": false, "viaRoot": false, "interior": false, "viaInterior": false, "empty": false,
            "selfish": true, "cycleA": true, "cycleB": true, "pastEnd": true,
        ])
    }

    /// Roots can leave out ranges (the exit scan skips the sampled objects and its own tables).
    func testRootsSkipExcludedRanges() throws {
        let object = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 16)
        defer { object.deallocate() }
        var entries = [entry(UInt(bitPattern: object), 32, id: 1)]
        let roots: [UInt] = [7, UInt(bitPattern: object), 7]
        var verdicts = [false]
        roots.withUnsafeBufferPointer { words in
            let lo = UInt(bitPattern: words.baseAddress), hi = lo + 24
            for (skip, expected) in [(sw_range(lo: lo + 8, hi: lo + 16), true), (sw_range(lo: lo + 16, hi: lo + 24), false)] {
                entries.withUnsafeMutableBufferPointer { objects in
                    verdicts.withUnsafeMutableBufferPointer { unreferenced in
                        var scan = sw_scan()
                        XCTAssertTrue(sw_scan_begin(&scan, objects.baseAddress, 1, unreferenced.baseAddress))
                        var ranges = [skip]
                        sw_scan_root_except(&scan, lo, hi, &ranges, 1)
                        sw_scan_end(&scan)
                        XCTAssertEqual(unreferenced[0], expected, "skip \(skip.lo - lo)..<\(skip.hi - lo)")
                    }
                }
            }
        }
    }

    private func entry(_ ptr: UInt, _ size: UInt64, id: UInt32) -> sw_snapshot_entry {
        sw_snapshot_entry(ptr: ptr, size: size, stack_id: id, birth_epoch: 1)
    }
}
