// The exit scan's parts over this very process: the mappings parser (scan_maps.c), the
// stop-the-world (scan_threads.c), glibc's chunk walk (scan_glibc_heap.c) and the flood through
// the chunks it found (scan_flood.c).

import CSwHeap
import Foundation
import Synchronization
import XCTest

final class ScanHeapTests: XCTestCase {
    func testMapsParserReadsKindsAndPermissions() throws {
        let text = """
            55f0a000-55f0b000 r-xp 00000000 08:01 42   /usr/bin/prog
            55f0c000-55f2d000 rw-p 00000000 00:00 0    [heap]
            7f000000-7f001000 rw-p 00000000 00:00 0
            7ffc0000-7ffc2000 rw-p 00000000 00:00 0    [stack]
            7ffc3000-7ffc4000 r--p 00000000 00:00 0    [vvar]

            """
        var list = sw_map_list()
        XCTAssertTrue(text.withCString { sw_maps_parse(&list, $0, strlen($0)) })
        defer { sw_maps_free(&list) }
        let maps = (0..<list.n).map { list.maps[$0] }
        XCTAssertEqual(maps.map(\.kind), [SW_MAP_FILE, SW_MAP_HEAP, SW_MAP_ANON, SW_MAP_STACK, SW_MAP_SPECIAL])
        XCTAssertEqual(maps.map(\.writable), [false, true, true, true, false])
        XCTAssertEqual(maps[1].lo, 0x55f0_c000)
        XCTAssertEqual(maps[1].hi, 0x55f2_d000)
        XCTAssertEqual(sw_maps_find(&list, 0x7f00_0fff)?.pointee.lo, 0x7f00_0000)
        XCTAssertNil(sw_maps_find(&list, 0x7f00_1000))
        for bad in ["zz-10 rw-p 0 0 0\n", "2000-1000 rw-p 00000000 00:00 0\n", "1000-2000 rw-p 0 0 0\n0-1800 rw-p 0 0 0\n"] {
            var broken = sw_map_list()
            XCTAssertFalse(bad.withCString { sw_maps_parse(&broken, $0, strlen($0)) }, bad)
        }
    }

    /// Every thread answers the stop signal with a stack pointer inside its own stack; the
    /// stop ends with a deadline even when a thread blocks every signal.
    func testWorldStopPublishesThreadsAndNeverHangs() throws {
        let parked = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        var threads: [Thread] = []
        for _ in 0..<3 {
            let t = Thread { parked.signal(); done.wait() }
            threads.append(t)
            t.start()
        }
        for _ in threads { parked.wait() }
        var world = sw_world()
        XCTAssertTrue(sw_world_stop(&world, 2_000_000_000, false))
        let stopped = (0..<world.n).filter { sw_world_stopped(&world, $0) }.map { world.threads[$0] }
        XCTAssertGreaterThanOrEqual(stopped.count, 3)
        var maps = sw_map_list()
        XCTAssertTrue(sw_maps_read(&maps))
        for t in stopped {
            XCTAssertNotNil(sw_maps_find(&maps, t.sp), "thread \(t.tid): stack pointer in a mapping")
            XCTAssertGreaterThan(t.nregs, 0)
            XCTAssertNotEqual(t.tp, 0)
        }
        sw_maps_free(&maps)
        sw_world_release(&world)

        // A thread that blocks every signal while asleep in a system call is left asleep,
        // with its stack pointer known.
        let sleeper = Thread {
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_SETMASK, &all, nil)
            parked.signal()
            done.wait()
        }
        sleeper.start()
        parked.wait()
        XCTAssertTrue(sw_world_stop(&world, 2_000_000_000, false))
        XCTAssertTrue((0..<world.n).contains { sw_world_asleep(&world, $0) && world.threads[$0].sp != 0 })
        sw_world_release(&world)

        // One that blocks every signal and keeps running cannot answer: the stop fails in time.
        // It spins on an atomic without any system call, so the kernel never reports it asleep
        // (a semaphore poll or sched_yield would be, now and then, and could be accepted).
        let spinning = SpinFlag()
        let spinner = Thread {
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_SETMASK, &all, nil)
            parked.signal()
            while !spinning.stop.load(ordering: .relaxed) {}
        }
        spinner.start()
        parked.wait()
        let start = Date()
        XCTAssertFalse(sw_world_stop(&world, 200_000_000, false))
        sw_world_release(&world)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "the stop has a deadline")
        spinning.stop.store(true, ordering: .relaxed)
        for _ in 0..<5 { done.signal() }
    }

    /// Blocks of many sizes, in the main arena, in another thread's arena and mmapped, are
    /// all found as chunks whose payload starts at the block; a pointer into the middle finds
    /// the same chunk; then the flood follows pointers between them.
    func testWalkFindsLiveBlocksAndFloodFollowsPointers() throws {
        try skipUnderSanitizerAllocator()
        let sizes = Array(stride(from: 1, through: 600, by: 7)) + [4096, 100_000, 1 << 20, 8 << 20]
        var blocks = sizes.map { (malloc($0)!, $0) }
        let arena = DispatchSemaphore(value: 0)
        let threadSizes = [24, 100, 1000]
        let fromThread = Addresses()
        let t = Thread {
            fromThread.values = threadSizes.map { UInt(bitPattern: malloc($0)) }
            arena.signal()
        }
        t.start()
        arena.wait()
        for (address, size) in zip(fromThread.values, threadSizes) { blocks.append((UnsafeMutableRawPointer(bitPattern: address)!, size)) }
        defer { blocks.forEach { free($0.0) } }
        for (p, size) in blocks { memset(p, 0, size) }

        // root -> a -> b (interior pointer); c <-> d is a dropped cycle; e only by a pointer past its end.
        let (root, a, b, c, d, e) = (blocks[10].0, blocks[11].0, blocks[12].0, blocks[13].0, blocks[14].0, blocks[15].0)
        root.storeBytes(of: a, as: UnsafeMutableRawPointer.self)
        a.storeBytes(of: b + 5, toByteOffset: 8, as: UnsafeMutableRawPointer.self)
        c.storeBytes(of: d, as: UnsafeMutableRawPointer.self)
        d.storeBytes(of: c, as: UnsafeMutableRawPointer.self)
        var roots: [UInt] = [UInt(bitPattern: root), UInt(bitPattern: e + blocks[15].1)]
        let watchedBlocks = [root, a, b, c, d, e].map { UInt(bitPattern: $0) }
        // e's payload ends at its requested size, as the exit scan narrows sampled chunks.
        let eEnd = UInt(bitPattern: e) + UInt(blocks[15].1)

        // What the child finds: per block its chunk, then per watched block whether it was reached.
        let reachedAt = blocks.count
        let found = try walkHeapInChild(findings: blocks.count + watchedBlocks.count, blank: ChunkFinding()) { index, findings in
            for (i, (p, size)) in blocks.enumerated() {
                let at = UInt(bitPattern: p)
                let chunk = sw_chunk_at(&index, at)
                findings[i].chunk = chunk
                guard chunk >= 0 else { continue }
                findings[i].start = index.start[chunk]
                findings[i].end = index.end[chunk]
                findings[i].chunkOfMiddle = sw_chunk_at(&index, at + UInt(size) / 2)
            }
            // No Swift allocation in the child: the watched chunks go straight into the findings.
            let watched = UnsafeMutableBufferPointer(rebasing: findings[reachedAt...])
            for (k, address) in watchedBlocks.enumerated() { watched[k].chunk = sw_chunk_at(&index, address) }
            guard !watched.contains(where: { $0.chunk < 0 }) else { return }
            for w in watched { index.reached[w.chunk] |= 2 }
            index.end[watched[5].chunk] = eEnd
            var flood = sw_flood()
            guard sw_flood_begin(&flood, &index, watched.count) else { return }
            roots.withUnsafeMutableBufferPointer { words in
                let lo = UInt(bitPattern: words.baseAddress)
                sw_flood_range(&flood, lo, lo + UInt(words.count * MemoryLayout<UInt>.stride))
            }
            sw_flood_drain(&flood)
            sw_flood_end(&flood)
            for k in watched.indices { watched[k].reached = index.reached[watched[k].chunk] & 1 == 1 }
        }
        let findings = try XCTUnwrap(found, "the heap walk succeeds")
        for ((p, size), finding) in zip(blocks, findings) {
            let at = UInt(bitPattern: p)
            XCTAssertGreaterThanOrEqual(finding.chunk, 0, "block of \(size) bytes found")
            guard finding.chunk >= 0 else { continue }
            XCTAssertEqual(finding.start, at, "block of \(size) bytes starts its chunk")
            XCTAssertGreaterThanOrEqual(finding.end, at + UInt(size))
            XCTAssertEqual(finding.chunkOfMiddle, finding.chunk)
        }
        let watched = findings[reachedAt...]
        XCTAssertFalse(watched.contains { $0.chunk < 0 }, "every watched block has a chunk")
        XCTAssertEqual(watched.map(\.reached), [true, true, true, false, false, false])
    }
}

extension ScanHeapTests {
    /// What looks like another arena's heap (a heap_info at a 64 MiB boundary) but holds a
    /// corrupt chunk makes the walk give up (the exit scan then falls back), without a fault;
    /// the same mapping without the heap_info is simply not a heap.
    func testCorruptArenaHeapMakesTheWalkGiveUp() throws {
        let heapMax = 64 << 20
        let length = 2 * heapMax
        let raw = try XCTUnwrap(mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0))
        XCTAssertNotEqual(raw, MAP_FAILED)
        defer { munmap(raw, length) }
        let base = (UInt(bitPattern: raw) + UInt(heapMax) - 1) & ~UInt(heapMax - 1)
        let heap = try XCTUnwrap(UnsafeMutablePointer<UInt>(bitPattern: base))
        // Only 64 KiB stay writable: the rest PROT_NONE, as glibc leaves an arena's heap.
        XCTAssertEqual(mprotect(UnsafeMutableRawPointer(heap) + 65536, heapMax - 65536, PROT_NONE), 0)
        func walks() throws -> Bool {
            try walkHeapInChild(findings: 0, blank: ChunkFinding()) { _, _ in } != nil
        }
        let plain = try walks()
        // Under TSan this process's heap is not glibc's to walk at all (under ASan it is).
        if !plain { try skipUnderSanitizerAllocator() }
        XCTAssertTrue(plain, "zeros at a 64 MiB boundary are not a heap")
        // heap_info {ar_ptr, prev, size, mprotect_size, pagesize}, an arena, then chunks.
        heap[0] = base + 48
        heap[1] = 0
        heap[2] = 65536
        heap[3] = 65536
        heap[4] = 4096
        let first = ((base + 48 + 2200 + 16 + 15) & ~UInt(15)) - 16
        let chunk = try XCTUnwrap(UnsafeMutablePointer<UInt>(bitPattern: first))
        chunk[1] = 0x51 // a 0x50-byte chunk, in use...
        (chunk + 10)[1] = 0x7 // ...followed by one of size 0 with every flag set: corrupt
        XCTAssertFalse(try walks(), "a corrupt chunk in a heap: the walk gives up")
    }
}

/// What the forked child of a heap walk learnt about one block.
private struct ChunkFinding: BitwiseCopyable {
    var chunk = -1
    var start: UInt = 0
    var end: UInt = 0
    var chunkOfMiddle = -1
    var reached = false
}

/// Walks glibc's heap in a forked child of the test process and returns what `inspect` wrote
/// about the chunks it found, or nil when the walk gave up.
///
/// Not in the test process itself: one of its other threads (XCTest's, Dispatch's, an earlier
/// test's server) may be inside malloc with a chunk header half written, and the walk rightly
/// gives up on that. The child has one thread, and glibc's fork() holds every arena's lock while
/// it copies the process, so the child's heap is never caught mid-change. The child writes its
/// findings into memory shared with the parent and ends with _exit, never returning to XCTest.
private func walkHeapInChild<Finding: BitwiseCopyable>(
    findings count: Int, blank: Finding,
    _ inspect: (inout sw_chunk_index, UnsafeMutableBufferPointer<Finding>) -> Void
) throws -> [Finding]? {
    let bytes = max(1, count) * MemoryLayout<Finding>.stride
    let shared = try XCTUnwrap(mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0))
    XCTAssertNotEqual(shared, MAP_FAILED)
    defer { munmap(shared, bytes) }
    let findings = UnsafeMutableBufferPointer(start: shared.bindMemory(to: Finding.self, capacity: count), count: count)
    _ = findings.initialize(repeating: blank)

    let child = fork()
    if child == 0 {
        var maps = sw_map_list(), index = sw_chunk_index()
        guard sw_maps_read(&maps), sw_heap_walk(&index, &maps, nil, 0) else { _exit(ChildExit.walkGaveUp) }
        inspect(&index, findings)
        _exit(ChildExit.walked)
    }
    XCTAssertGreaterThan(child, 0, "fork")
    var status: Int32 = 0
    while waitpid(child, &status, 0) < 0 && errno == EINTR {}
    let exitCode = status & 0x7f == 0 ? (status >> 8) & 0xff : -1  // WIFEXITED, WEXITSTATUS
    switch exitCode {
    case ChildExit.walked: return Array(findings)
    case ChildExit.walkGaveUp: return nil
    default: throw ChildCrashed(status: status)
    }
}

private enum ChildExit {
    static let walked: Int32 = 0
    static let walkGaveUp: Int32 = 3
}

private struct ChildCrashed: Error, CustomStringConvertible {
    var status: Int32
    var description: String { "the heap walk's child ended with wait status \(status)" }
}

/// Addresses handed from a thread to the test (the semaphore orders the accesses).
private final class Addresses: @unchecked Sendable {
    var values: [UInt] = []
}

/// A flag a busy thread polls without system calls.
private final class SpinFlag: Sendable {
    let stop = Atomic<Bool>(false)
}
