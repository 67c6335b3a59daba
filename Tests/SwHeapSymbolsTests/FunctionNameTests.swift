// The one function-name parser (reports and frame classification), fallback frames, and
// where the toolchain's llvm-symbolizer is looked for.

import Foundation
import XCTest
@testable import SwHeapSymbols
import SwHeapTestSupport

final class FunctionNameTests: XCTestCase {
    func testFallbackFramesStayWhole() {
        XCTAssertEqual(FunctionName.fallback(modulePath: "/usr/lib/libfoo.so.1", offset: 0x1234, address: 0x7f00_1235),
                       "libfoo.so.1+0x1234")
        XCTAssertEqual(FunctionName.fallback(modulePath: "[vdso]", offset: 0x10, address: 0x7fff_0011), "[vdso]+0x10")
        XCTAssertEqual(FunctionName.fallback(modulePath: nil, offset: 0, address: 0x1234), "0x1234")
        for name in ["my app (1)+0x1f", "lib x.so+0xa0", "0xdeadbeef", "[vdso]+0x10"] {
            XCTAssertEqual(FunctionName.withoutArguments(name), name)
            XCTAssertEqual(FrameClassifier.kind(ofFunction: name, systemName: ""), .user, name)
        }
        XCTAssertFalse(FunctionName.isFallback("operator+"))
        XCTAssertFalse(FunctionName.isFallback("f+0xZZ"))
    }

    func testTheParserServesReportsAndClassification() {
        XCTAssertEqual(FunctionName.withoutArguments("void std::vector<int>::_M_realloc_insert<int>(int&&)"),
                       "std::vector<int>::_M_realloc_insert<int>")
        XCTAssertEqual(FunctionName.withoutArguments("operator new(unsigned long)"), "operator new")
        XCTAssertEqual(FunctionName.withoutArguments("(anonymous namespace)::grow(int)"), "(anonymous namespace)::grow")
        XCTAssertEqual(FrameClassifier.kind(ofFunction: "void std::vector<int>::_M_realloc_insert<int>(int&&)",
                                            systemName: ""), .cxxRuntime)
        XCTAssertEqual(FrameClassifier.kind(ofFunction: "operator new[](unsigned long)", systemName: ""), .cxxRuntime)
        XCTAssertEqual(FrameClassifier.kind(ofFunction: "(anonymous namespace)::grow(int)", systemName: ""), .user)
    }

    func testToolchainIsFoundBesideSwiftThroughSymlinks() throws {
        let root = try Scratch.directory(name)
        defer { Scratch.remove(root) }
        let toolchain = root + "/toolchain/usr/bin", bin = root + "/bin"
        for directory in [toolchain, bin, root + "/empty"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for tool in ["swift", "llvm-symbolizer"] {
            _ = FileManager.default.createFile(atPath: toolchain + "/" + tool, contents: Data("#!/bin/sh\n".utf8),
                                           attributes: [.posixPermissions: 0o755])
        }
        try FileManager.default.createSymbolicLink(atPath: bin + "/swift", withDestinationPath: "../toolchain/usr/bin/swift")
        let expected = try XCTUnwrap(realpath(toolchain, nil).map { pointer in
            defer { free(pointer) }
            return String(cString: pointer)
        })
        XCTAssertEqual(Symbolizer.toolchainDirectory(path: root + "/empty:" + bin), expected)
        XCTAssertNil(Symbolizer.toolchainDirectory(path: root + "/empty"))
    }
}
