// The fixture support of SwHeapTestSupport describes a compiled program as the shim would.

import Foundation
import SwHeapDump
import SwHeapTestSupport
import XCTest

final class ModuleDescriptionTests: XCTestCase {
    func testModuleDescriptionMatchesTheELFFile() throws {
        let fixture = try CompiledFixture.compile(name: "tiny", source: "int main(void) { return 0; }\n")
        defer { fixture.remove() }
        let module = try fixture.object.module(loadBias: 0x5555_0000_0000)
        XCTAssertFalse(module.segments.isEmpty)
        XCTAssertTrue(module.segments.contains { $0.isExecutable })
        XCTAssertEqual(module.buildID.count, 20, "gcc on Debian emits a SHA-1 build ID")
        let main = try fixture.object.symbolAddress("main")
        XCTAssertTrue(module.contains(0x5555_0000_0000 + main))
    }
}
