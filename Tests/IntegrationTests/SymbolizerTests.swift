import Foundation
import XCTest
@testable import SwHeapDump
@testable import SwHeapSymbols
@testable import SwHeapTestSupport

final class SymbolizerTests: XCTestCase {
    static let bias: UInt64 = 0x5555_0000_0000

    // Each allocating function sits on one line so any address inside it maps to that line.
    static let cSource = """
    #include <stdlib.h>
    #include <string.h>
    __attribute__((noinline)) char *make_record(size_t n) { char *p = malloc(n); memset(p, 1, n); return p; } // RECORD
    int main(int argc, char **argv) { (void)argv; return make_record((size_t)argc * 16) == 0; }

    """

    private func compileC() throws -> CompiledFixture {
        try CompiledFixture.compile(name: "records", source: Self.cSource)
    }

    /// A "return address" inside `function`: some bytes past its entry, plus one.
    private func returnAddress(in object: ELFObject, _ function: String, bias: UInt64 = bias) throws -> UInt64 {
        try bias + object.symbolAddress(function) + 9
    }

    func testSymbolisesACFunctionWithFileAndLine() throws {
        let fixture = try compileC()
        defer { fixture.remove() }
        let module = try fixture.object.module(loadBias: Self.bias)
        let address = try returnAddress(in: fixture.object, "make_record")
        let location = try XCTUnwrap(Symbolizer().symbolize([address], in: [module])[address])
        XCTAssertEqual(location.outermost.function, "make_record")
        XCTAssertEqual(location.outermost.file, fixture.sourcePath)
        XCTAssertEqual(location.outermost.line, fixture.line(of: "// RECORD"))
        XCTAssertEqual(location.moduleIndex, 0)
        XCTAssertEqual(location.moduleOffset, address - 1 - Self.bias)
        XCTAssertTrue(location.hasFunctionName)
        XCTAssertTrue(location.hasLineNumbers)
    }

    func testSeparateDebugFileFoundThroughDebuglink() throws {
        let fixture = try compileC()
        defer { fixture.remove() }
        let binary = fixture.object.path
        try ProgramRunner.output("objcopy", ["--only-keep-debug", binary, binary + ".debug"])
        try ProgramRunner.output("strip", ["--strip-debug", binary])
        try ProgramRunner.output("objcopy", ["--add-gnu-debuglink=" + binary + ".debug", binary])
        XCTAssertFalse(try ProgramRunner.output("readelf", ["-S", binary]).contains(".debug_info"), "debug info really stripped")

        let module = try fixture.object.module(loadBias: Self.bias)
        let address = try returnAddress(in: fixture.object, "make_record")
        let location = try XCTUnwrap(Symbolizer().symbolize([address], in: [module])[address])
        XCTAssertEqual(location.outermost.function, "make_record")
        XCTAssertEqual(location.outermost.line, fixture.line(of: "// RECORD"))
    }

    func testStrippedBinaryFallsBackToModuleAndOffset() throws {
        let fixture = try compileC()
        defer { fixture.remove() }
        let offset = try fixture.object.symbolAddress("make_record") + 8
        try ProgramRunner.output("strip", ["--strip-all", fixture.object.path])
        let module = try fixture.object.module(loadBias: Self.bias)
        let address = Self.bias + offset + 1
        let location = try XCTUnwrap(Symbolizer().symbolize([address], in: [module])[address])
        XCTAssertEqual(location.frames, [SymbolizedFrame(function: "records+0x" + String(offset, radix: 16))])
        XCTAssertFalse(location.hasFunctionName)
    }

    /// Debian's -dbgsym layout: the debug file under <dir>/.build-id/ab/cdef….debug, the binary
    /// stripped of everything, symbols and all.
    func testSeparateDebugFileFoundByBuildID() throws {
        let fixture = try compileC()
        defer { fixture.remove() }
        let binary = fixture.object.path
        let id = try fixture.object.buildID().map { String(format: "%02x", $0) }.joined()
        XCTAssertGreaterThan(id.count, 2, "the compiler wrote a build ID")
        let directory = fixture.directory + "/debug"
        let debugFile = directory + "/.build-id/" + id.prefix(2) + "/" + id.dropFirst(2) + ".debug"
        try FileManager.default.createDirectory(atPath: (debugFile as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let offset = try fixture.object.symbolAddress("make_record") + 8
        try ProgramRunner.output("objcopy", ["--only-keep-debug", binary, debugFile])
        try ProgramRunner.output("strip", ["--strip-all", binary])
        let module = try fixture.object.module(loadBias: Self.bias)
        let address = Self.bias + offset + 1
        let symbolizer = Symbolizer(options: .init(debugFileDirectories: [directory], showsProgress: false))
        let location = try XCTUnwrap(symbolizer.symbolize([address], in: [module])[address])
        XCTAssertEqual(location.outermost.function, "make_record")
        XCTAssertEqual(location.outermost.line, fixture.line(of: "// RECORD"))
    }

    /// MiniDebugInfo: a stripped binary with its function symbols in an xz-compressed ELF in
    /// `.gnu_debugdata`, which llvm-symbolizer does not read by itself.
    func testMiniDebugInfoNamesAStrippedBinary() throws {
        let fixture = try compileC()
        defer { fixture.remove() }
        let binary = fixture.object.path, mini = fixture.directory + "/mini"
        let offset = try fixture.object.symbolAddress("make_record") + 8
        try ProgramRunner.output("objcopy", ["--only-keep-debug", binary, mini + ".full"])
        try "make_record\nmain\n".write(toFile: mini + ".keep", atomically: true, encoding: .utf8)
        try ProgramRunner.output("objcopy", ["-S", "--remove-section", ".comment", "--keep-symbols=" + mini + ".keep",
                                             mini + ".full", mini])
        try ProgramRunner.output("xz", ["--force", mini])
        try ProgramRunner.output("strip", ["--strip-all", binary])
        try ProgramRunner.output("objcopy", ["--add-section", ".gnu_debugdata=" + mini + ".xz", binary])
        let module = try fixture.object.module(loadBias: Self.bias)
        let address = Self.bias + offset + 1
        let location = try XCTUnwrap(Symbolizer(options: .init(showsProgress: false)).symbolize([address], in: [module])[address])
        XCTAssertEqual(location.outermost.function, "make_record")
        XCTAssertTrue(location.hasFunctionName)
    }

    func testMissingObjectsUnknownAddressesAndTheVdsoNeverFail() throws {
        let gone = Module(loadBias: 0x7000_0000_0000, path: "/nonexistent/libgone.so", buildID: [],
                          segments: [Segment(start: 0x7000_0000_1000, end: 0x7000_0000_9000, fileOffset: 0x1000, flags: 5)])
        let vdso = Module(loadBias: 0x7fff_0000_0000, path: Module.vdsoPath, buildID: [1, 2],
                          segments: [Segment(start: 0x7fff_0000_0000, end: 0x7fff_0000_2000, fileOffset: 0, flags: 5)])
        let addresses: [UInt64] = [0x7000_0000_1235, 0x7fff_0000_0011, 0x1234]
        let result = Symbolizer().symbolize(addresses, in: [gone, vdso])
        XCTAssertEqual(result[0x7000_0000_1235]?.frames.map(\.function), ["libgone.so+0x1234"])
        XCTAssertEqual(result[0x7fff_0000_0011]?.frames.map(\.function), ["[vdso]+0x10"])
        XCTAssertEqual(result[0x1234]?.frames.map(\.function), ["0x1234"])
        XCTAssertNil(result[0x1234]?.moduleIndex)
    }

    func testMissingSymbolizerFallsBackWithAReason() throws {
        let fixture = try compileC()
        defer { fixture.remove() }
        let module = try fixture.object.module(loadBias: Self.bias)
        let address = try returnAddress(in: fixture.object, "make_record")
        let symbolizer = Symbolizer(options: .init(executable: "/nonexistent/llvm-symbolizer"))
        let location = try XCTUnwrap(symbolizer.symbolize([address], in: [module])[address])
        XCTAssertEqual(location.frames.map(\.function), ["records+0x" + String(address - 1 - Self.bias, radix: 16)])
        XCTAssertNotNil(symbolizer.unavailableReason)
    }

    func testInlinedFramesComeInnermostFirst() throws {
        let source = """
        #include <stdlib.h>
        static inline void *grab(size_t n) { return malloc(n); } // GRAB
        __attribute__((noinline)) void *outer(size_t n) { void *p = grab(n); return p; } // OUTER
        int main(int argc, char **argv) { (void)argv; return outer((size_t)argc) == 0; }

        """
        let fixture = try CompiledFixture.compile(name: "inlined", source: source, flags: ["-g", "-O2"])
        defer { fixture.remove() }
        let module = try fixture.object.module(loadBias: Self.bias)
        // The call to malloc is the inlined frame; find its return address through the
        // symbolizer itself by scanning outer's first bytes.
        let start = try fixture.object.symbolAddress("outer")
        let addresses = (1...24).map { Self.bias + start + UInt64($0) }
        let result = Symbolizer().symbolize(addresses, in: [module])
        let inlined = try XCTUnwrap(addresses.compactMap { result[$0] }.first { $0.frames.count == 2 },
                                    "some address in outer() is inside inlined grab()")
        XCTAssertEqual(inlined.frames.map(\.function), ["grab", "outer"])
        XCTAssertEqual(inlined.frames.map(\.isInlined), [true, false])
        XCTAssertEqual(inlined.frames[0].line, fixture.line(of: "// GRAB"))
        XCTAssertEqual(inlined.frames[1].line, fixture.line(of: "// OUTER"))
    }

    func testCxxNamesAreDemangled() throws {
        let source = """
        #include <vector>
        namespace shop { struct Basket { std::vector<int> items; void grow(int n); }; }
        void shop::Basket::grow(int n) { items.push_back(n); } // GROW
        int main(int argc, char **) { shop::Basket b; b.grow(argc); return (int)b.items.size() - 1; }

        """
        let fixture = try CompiledFixture.compile(name: "basket", source: source, language: .cxx)
        defer { fixture.remove() }
        let module = try fixture.object.module(loadBias: Self.bias)
        let address = try Self.bias + fixture.object.symbolAddress("_ZN4shop6Basket4growEi") + 9
        let location = try XCTUnwrap(Symbolizer().symbolize([address], in: [module])[address])
        XCTAssertEqual(location.outermost.function, "shop::Basket::grow(int)")
        XCTAssertEqual(location.outermost.line, fixture.line(of: "// GROW"))
    }

    func testSwiftNamesAreDemangledByTheRuntime() throws {
        XCTAssertEqual(SwiftDemangler.demangle("$sSa6appendyyxnF"), "Swift.Array.append(__owned A) -> ()")
        XCTAssertEqual(SwiftDemangler.demangle("_$sSa6appendyyxnF"), "Swift.Array.append(__owned A) -> ()")
        XCTAssertNil(SwiftDemangler.demangle("_ZN4shop6Basket4growEi"))
        XCTAssertNil(SwiftDemangler.demangle("malloc"))

        let library = ELFObject(path: try swiftCorePath())
        let module = try library.module(loadBias: 0x7f00_0000_0000)
        let address = try 0x7f00_0000_0000 + library.symbolAddress("$sSa6appendyyxnF", dynamic: true) + 5
        let location = try XCTUnwrap(Symbolizer().symbolize([address], in: [module])[address])
        XCTAssertEqual(location.outermost.function, "Swift.Array.append(__owned A) -> ()")
        XCTAssertEqual(location.outermost.systemName, "$sSa6appendyyxnF")
    }

    /// 50,000 distinct addresses through one batch: every one answered, the second pass from
    /// the cache. (Its speed is measured by scripts/bench, not asserted here: timing asserts flake.)
    func testFiftyThousandAddressesInOneBatch() throws {
        let library = ELFObject(path: try swiftCorePath())
        let module = try library.module(loadBias: 0x7f00_0000_0000)
        let text = try XCTUnwrap(module.segments.first { $0.isExecutable })
        var generator = SystemRandomNumberGenerator()
        var addresses = Set<UInt64>()
        while addresses.count < 50_000 { addresses.insert(UInt64.random(in: text.start + 1..<text.end, using: &generator)) }

        let symbolizer = Symbolizer()
        let result = symbolizer.symbolize(Array(addresses), in: [module])
        XCTAssertEqual(result.count, 50_000)
        XCTAssertGreaterThan(result.values.filter(\.hasFunctionName).count, 45_000)
        let again = symbolizer.symbolize(Array(addresses), in: [module])
        XCTAssertEqual(again.count, 50_000)
    }

    private func swiftCorePath() throws -> String {
        let candidates = ["/opt/swift/usr/lib/swift/linux/libswiftCore.so", "/usr/lib/swift/linux/libswiftCore.so"]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw XCTSkip("libswiftCore.so not found in \(candidates)")
        }
        return path
    }
}
