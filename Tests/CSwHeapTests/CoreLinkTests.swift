// Linking the shim's core must not make it a profiler: the allocator entry points live only
// in libswheap.so (Sources/CSwHeapPreload), so this test process keeps glibc's malloc.

import CSwHeap
import Glibc
import XCTest

final class CoreLinkTests: XCTestCase {
    func testTestProcessKeepsTheSystemAllocator() throws {
        try skipUnderSanitizerAllocator()
        let libc = try XCTUnwrap(dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD))
        defer { dlclose(libc) }
        for name in ["malloc", "free", "calloc", "realloc", "posix_memalign", "aligned_alloc"] {
            let resolved = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) // RTLD_DEFAULT
            XCTAssertNotNil(resolved, name)
            XCTAssertEqual(resolved, dlsym(libc, name), "\(name) is not glibc's in a process that links the core")
        }
        // The core is linked (not dead-stripped) all the same.
        XCTAssertEqual(sw_sample_weight(8, 1).objects, 1)
    }
}
