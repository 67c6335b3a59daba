// The thread census (census.c) through its C API, as the pthread hooks drive it: each state
// change moves a thread between running, exited-unjoined and gone, the THREADS body holds the
// sites sorted by stack id, a failed creation counts nothing, a thread that ends detached
// before its creator returns is freed once, and records are reused (memory stays bounded).
// The census is process-wide: one test walks every case in order.

import CSwHeap
import CSwHeapFormat
import Glibc
import XCTest

final class CensusTests: XCTestCase {
    struct Site: Equatable {
        var stack: UInt32, running: UInt64, unjoined: UInt64, gone: UInt64, bytes: UInt64, unjoinedBytes: UInt64
    }

    /// The sites of a THREADS body, and its fixed part.
    private func census() throws -> (head: sw_format_threads, sites: [Site]) {
        var out = sw_buffer()
        defer { sw_buf_free(&out) }
        sw_census_write(&out, 0)
        XCTAssertFalse(out.failed)
        let raw = UnsafeRawBufferPointer(start: out.data, count: out.len)
        let head = raw.loadUnaligned(as: sw_format_threads.self)
        let count = Int(raw.loadUnaligned(fromByteOffset: Int(SW_FORMAT_THREADS_SIZE), as: UInt32.self))
        XCTAssertEqual(out.len, Int(SW_FORMAT_THREADS_SIZE) + 4 + count * Int(SW_FORMAT_THREAD_SITE_SIZE))
        let sites = (0..<count).map { i in
            let r = raw.loadUnaligned(fromByteOffset: Int(SW_FORMAT_THREADS_SIZE) + 4 + i * Int(SW_FORMAT_THREAD_SITE_SIZE),
                                      as: sw_format_thread_site.self)
            return Site(stack: r.stack_id, running: r.running, unjoined: r.exited_unjoined, gone: r.gone, bytes: r.stack_bytes,
                        unjoinedBytes: r.unjoined_bytes)
        }
        return (head, sites)
    }

    /// A thread's whole start in the hooks' order: reserve, created (the id), begin (in the thread).
    private func start(_ stack: UInt32, id: pthread_t, bytes: UInt64, detached: Bool = false) throws -> OpaquePointer {
        let t = try XCTUnwrap(sw_census_reserve(stack, bytes, detached, nil, nil))
        sw_census_created(t, id)
        return t
    }

    /// The thread's own side, run on a real thread (the census keeps the current record per thread).
    private func run(_ t: OpaquePointer, ends: Bool) {
        final class Box: @unchecked Sendable { let t: OpaquePointer; let ends: Bool; init(_ t: OpaquePointer, _ e: Bool) { self.t = t; ends = e } }
        let box = Unmanaged.passRetained(Box(t, ends)).toOpaque()
        var thread = pthread_t()
        pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            var start: (@convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?)?
            var arg: UnsafeMutableRawPointer?
            sw_census_begin(box.t, &start, &arg)
            if box.ends { sw_census_end() }
            return nil
        }, box)
        pthread_join(thread, nil)
    }

    func testThreadsMoveBetweenStatesAndAreCountedPerSite() throws {
        XCTAssertTrue(sw_census_init())
        XCTAssertGreaterThanOrEqual(try census().head.before_profiling, 1)
        let mib: UInt64 = 1 << 20

        // Stack 7: two running, one of them ends and is joined; stack 3: ends, never joined.
        let a = try start(7, id: 0x1000, bytes: 8 * mib), b = try start(7, id: 0x2000, bytes: 8 * mib)
        let c = try start(3, id: 0x3000, bytes: mib)
        run(a, ends: false)
        run(b, ends: true)
        run(c, ends: true)
        XCTAssertEqual(try census().sites, [
            Site(stack: 3, running: 0, unjoined: 1, gone: 0, bytes: mib, unjoinedBytes: mib),
            Site(stack: 7, running: 1, unjoined: 1, gone: 0, bytes: 16 * mib, unjoinedBytes: 8 * mib),
        ])
        let joining = try XCTUnwrap(sw_census_join_begin(0x2000))
        sw_census_join_end(joining, true)
        XCTAssertEqual(try census().sites[1], Site(stack: 7, running: 1, unjoined: 0, gone: 1, bytes: 8 * mib, unjoinedBytes: 0))

        // A failed join changes nothing; a detach of an exited thread makes it gone.
        let failed = try XCTUnwrap(sw_census_join_begin(0x3000))
        sw_census_join_end(failed, false)
        XCTAssertEqual(try census().sites[0].unjoined, 1)
        sw_census_detached(0x3000)
        XCTAssertEqual(try census().sites[0], Site(stack: 3, running: 0, unjoined: 0, gone: 1, bytes: 0, unjoinedBytes: 0))
        XCTAssertNil(sw_census_join_begin(0x3000), "a gone thread is no longer known")

        // Detached while running, then it ends: gone at once.
        sw_census_detached(0x1000)
        XCTAssertEqual(try census().sites[1].running, 1)

        // pthread_create failed: nothing counted, not even the site.
        let never = try XCTUnwrap(sw_census_reserve(9, mib, false, nil, nil))
        sw_census_failed(never)
        XCTAssertNil(try census().sites.first { $0.stack == 9 })

        // A detached thread that ends before its creator returns: gone, and freed only then.
        let early = try XCTUnwrap(sw_census_reserve(5, mib, true, nil, nil))
        run(early, ends: true)
        XCTAssertEqual(try census().sites.first { $0.stack == 5 }?.gone, 1)
        sw_census_created(early, 0x5000)
        XCTAssertNil(sw_census_join_begin(0x5000))

        // Many short threads on one site: records are reused, counts only grow.
        for i in 0..<10_000 {
            let t = try start(11, id: pthread_t(0x10_0000 + i), bytes: mib)
            let j = try XCTUnwrap(sw_census_join_begin(pthread_t(0x10_0000 + i)))
            sw_census_join_end(j, true)
            _ = t
        }
        XCTAssertEqual(try census().sites.first { $0.stack == 11 }?.gone, 10_000)
        XCTAssertEqual(try census().sites.map(\.stack), [3, 5, 7, 11], "sorted by stack id")
    }
}
