// The memory picture (memory.c): the /proc parsers, and the picture of this very process,
// taken as the writer takes it, against what glibc says through malloc_info. (The exact
// comparison with mallinfo2 called by a program itself is an integration test:
// ShimMemoryTests.)

import CSwHeap
import CSwHeapFormat
import Foundation
import XCTest

final class MemoryPictureTests: XCTestCase {
    func testStatmGivesResidentAndSharedPages() {
        var rss: UInt64 = 0, shared: UInt64 = 0
        let text = "12345 678 90 1 0 2000 0\n"
        XCTAssertTrue(sw_memory_parse_statm(text, text.utf8.count, 4096, &rss, &shared))
        XCTAssertEqual(rss, 678 * 4096)
        XCTAssertEqual(shared, 90 * 4096)
        XCTAssertFalse(sw_memory_parse_statm("12345", 5, 4096, &rss, &shared), "three fields at least")
        XCTAssertFalse(sw_memory_parse_statm("", 0, 4096, &rss, &shared))
    }

    func testKilobyteFieldsAreFoundByTheirWholeName() {
        let text = """
            55d0c8a3c000-7ffd5a1f6000 ---p 00000000 00:00 0                          [rollup]
            Rss:              133948 kB
            Pss_Anon:         131000 kB
            Pss:              131200 kB
            AnonHugePages:         0 kB
            Anonymous:        131560 kB

            """
        var bytes: UInt64 = 0
        XCTAssertTrue(sw_memory_parse_kb(text, text.utf8.count, "Anonymous", &bytes))
        XCTAssertEqual(bytes, 131_560 * 1024)
        XCTAssertTrue(sw_memory_parse_kb(text, text.utf8.count, "Pss", &bytes))
        XCTAssertEqual(bytes, 131_200 * 1024, "Pss, not Pss_Anon")
        XCTAssertFalse(sw_memory_parse_kb(text, text.utf8.count, "Anon", &bytes), "no field is called Anon")
        XCTAssertFalse(sw_memory_parse_kb(text, text.utf8.count, "Shared_Clean", &bytes))
    }

    /// This process runs on glibc: the picture has every figure, and they agree with each other
    /// (in use + free = what the arenas and mmapped chunks hold) and with /proc.
    func testThisProcessOnGlibcHasEveryFigure() throws {
        try skipUnderSanitizerAllocator()
        sw_memory_init()
        XCTAssertEqual(sw_memory_allocator(), SW_ALLOCATOR_GLIBC)
        var m = sw_format_memory()
        sw_memory_take(&m, true, 1234.5)
        XCTAssertEqual(m.version, SW_MEMORY_VERSION)
        XCTAssertEqual(m.size, SW_FORMAT_MEMORY_SIZE)
        XCTAssertEqual(m.allocator, SW_ALLOCATOR_GLIBC)
        let all = SW_MEMORY_RSS | SW_MEMORY_ANON | SW_MEMORY_IN_USE | SW_MEMORY_FREE | SW_MEMORY_HELD | SW_MEMORY_ARENAS | SW_MEMORY_RAW
        XCTAssertEqual(m.valid, all)
        XCTAssertEqual(m.sampled_live_bytes, 1234.5)
        let raw = withUnsafeBytes(of: m.raw) { Array($0.bindMemory(to: UInt64.self)) }
        let (arena, uordblks, fordblks, hblkhd) = (raw[0], raw[1], raw[2], raw[3])
        XCTAssertEqual(arena, uordblks + fordblks, "mallinfo2: the arenas are what is in use and free")
        XCTAssertEqual(m.in_use_bytes, uordblks + hblkhd)
        XCTAssertEqual(m.free_bytes, fordblks)
        XCTAssertEqual(m.held_bytes, arena + hblkhd)
        XCTAssertGreaterThan(m.rss_bytes, 1 << 20)
        XCTAssertLessThanOrEqual(m.anon_bytes, m.rss_bytes + (4 << 20))
        XCTAssertLessThan(m.file_bytes, m.rss_bytes)
        XCTAssertLessThan(m.allocator_ns, 1_000_000_000)
        XCTAssertGreaterThanOrEqual(m.arenas, 1)
    }

    /// Threads that allocate get arenas of their own; the count from the mappings is the
    /// number of heaps malloc_info lists.
    func testArenaCountIsMallocInfosHeaps() throws {
        try skipUnderSanitizerAllocator()
        let started = DispatchSemaphore(value: 0), finish = DispatchSemaphore(value: 0)
        var threads: [Thread] = []
        for _ in 0..<6 {
            let thread = Thread {
                let blocks = (0..<64).map { _ in malloc(2048) }
                started.signal()
                finish.wait()
                blocks.forEach { free($0) }
            }
            thread.start()
            threads.append(thread)
        }
        for _ in threads { started.wait() }
        defer { for _ in threads { finish.signal() } }
        sw_memory_init()
        var m = sw_format_memory()
        sw_memory_take(&m, true, 0)
        let heaps = try mallocInfoHeaps()
        XCTAssertEqual(Int(m.arenas), heaps)
        XCTAssertGreaterThanOrEqual(heaps, 2, "the threads allocated from arenas of their own")
    }

    /// With a writer thread the allocator is asked by a thread of its own, which never
    /// allocates: no arena of its own is counted, and the answer is the same.
    func testTheAskerThreadAnswersAndHasNoArena() throws {
        try skipUnderSanitizerAllocator()
        sw_memory_init()
        sw_memory_start_asker()
        var m = sw_format_memory()
        sw_memory_take(&m, true, 0)
        XCTAssertEqual(m.valid & SW_MEMORY_LATE, 0)
        XCTAssertNotEqual(m.valid & SW_MEMORY_IN_USE, 0)
        XCTAssertGreaterThan(m.allocator_ns, 0)
        XCTAssertEqual(Int(m.arenas), try mallocInfoHeaps())
        sw_memory_take(&m, true, 0)
        XCTAssertEqual(Int(m.arenas), try mallocInfoHeaps(), "asking twice adds no arena")
    }

    func testNotAskingTheAllocatorKeepsRSSAndSaysSo() {
        sw_memory_init()
        var m = sw_format_memory()
        sw_memory_take(&m, false, 10)
        XCTAssertEqual(m.valid, SW_MEMORY_RSS | SW_MEMORY_ANON | SW_MEMORY_SKIPPED)
        XCTAssertEqual(m.in_use_bytes, 0)
        XCTAssertEqual(m.arenas, 0)
        XCTAssertEqual(m.allocator_ns, 0)
        XCTAssertGreaterThan(m.rss_bytes, 0)
    }

    /// `<heap nr=` elements of malloc_info's XML (malloc.h is not in Swift's Glibc module).
    private func mallocInfoHeaps() throws -> Int {
        typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
        let symbol = try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_info"))
        let mallocInfo = unsafeBitCast(symbol, to: MallocInfo.self)
        var text: UnsafeMutablePointer<CChar>?
        var length = 0
        let stream = try XCTUnwrap(open_memstream(&text, &length))
        XCTAssertEqual(mallocInfo(0, stream), 0)
        fclose(stream)
        defer { free(text) }
        let xml = String(cString: try XCTUnwrap(text))
        return xml.components(separatedBy: "<heap nr=").count - 1
    }
}
