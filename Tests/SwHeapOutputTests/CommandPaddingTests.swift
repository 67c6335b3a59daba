// The command a report and the metrics name a process by: a process title's padding cut.

import XCTest
@testable import SwHeapOutput

final class CommandPaddingTests: XCTestCase {
    /// A process title pads the argument area with spaces or NULs: labels and tables cut them.
    func testTrailingSpacesAndNULsAreCut() {
        XCTAssertEqual(ProcessReport.trimmingPadding("nginx: worker process          "), "nginx: worker process")
        XCTAssertEqual(ProcessReport.trimmingPadding("redis-server *:6379\0\0\0 \0"), "redis-server *:6379")
        XCTAssertEqual(ProcessReport.trimmingPadding("  app --x"), "  app --x", "leading ones are kept")
        XCTAssertEqual(ProcessReport.trimmingPadding(" \0 "), "")
    }
}
