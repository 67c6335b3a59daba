// Whether this test process was built with `swift test --sanitize=address|thread`: then the
// sanitizer's allocator replaces glibc's by design, so the tests that walk glibc's heap or
// check that malloc is glibc's have nothing to test (scripts/sanitizers runs them so). Detected by the runtime's own entry
// point, never by the allocator, so a plain run can never skip them.

import Foundation
import XCTest

func skipUnderSanitizerAllocator() throws {
    let everywhere = UnsafeMutableRawPointer(bitPattern: 0) // RTLD_DEFAULT
    for entry in ["__asan_init", "__tsan_init"] where dlsym(everywhere, entry) != nil {
        throw XCTSkip("\(entry): the process runs on the sanitizer's allocator, not glibc's")
    }
}
