// Test support: compiles small native programs and describes them the way a dump would
// (modules with PT_LOAD segments, build IDs, symbol addresses). Shared by the symbolizer and
// pprof tests.
import Foundation
import XCTest
@testable import SwHeapCore

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// Runs a tool found on PATH and returns its stdout; throws with its stderr on failure.
@discardableResult
func runTool(_ tool: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    // stderr goes to a file so only one pipe has to be drained while the tool runs.
    let errorPath = NSTemporaryDirectory() + "swheap-tool-" + UUID().uuidString
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errorPath) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errorData = FileManager.default.contents(atPath: errorPath) ?? Data()
    guard process.terminationStatus == 0 else {
        throw FixtureError(description: "\(tool) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): "
                           + String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: outputData, as: UTF8.self)
}

func toolExists(_ tool: String) -> Bool {
    (try? runTool("sh", ["-c", "command -v \(tool)"])) != nil
}

/// An ELF object on disk, described the way the shim's MODULES section would describe it.
struct ELFObject {
    var path: String

    /// PT_LOAD segments shifted by `loadBias`, and the GNU build ID.
    func module(loadBias: UInt64) throws -> Module {
        var segments: [Segment] = []
        for line in try runTool("readelf", ["-lW", path]).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.first == "LOAD", fields.count >= 7 else { continue }
            func hex(_ index: Int) -> UInt64 { UInt64(fields[index].dropFirst(2), radix: 16) ?? 0 }
            let flagText = fields[6...].dropLast().joined()
            var flags: UInt32 = 0
            if flagText.contains("R") { flags |= 4 }
            if flagText.contains("W") { flags |= 2 }
            if flagText.contains("E") { flags |= 1 }
            let start = loadBias + hex(2)
            segments.append(Segment(start: start, end: start + hex(5), fileOffset: hex(1), flags: flags))
        }
        return Module(loadBias: loadBias, path: path, buildID: try buildID(), segments: segments)
    }

    func buildID() throws -> [UInt8] {
        let notes = try runTool("readelf", ["-n", path])
        guard let line = notes.split(separator: "\n").first(where: { $0.contains("Build ID:") }),
              let hex = line.split(separator: " ").last else { return [] }
        let digits = Array(hex)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
    }

    /// The ELF virtual address of a symbol (mangled name as in the symbol table).
    func symbolAddress(_ name: String, dynamic: Bool = false) throws -> UInt64 {
        let listing = try runTool("nm", (dynamic ? ["-D"] : []) + [path])
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 3, fields[2] == name, let address = UInt64(fields[0], radix: 16) { return address }
        }
        throw FixtureError(description: "\(name) not in the symbol table of \(path)")
    }
}

/// A program compiled for a test in a fresh temporary directory.
struct CompiledFixture {
    var directory: String
    var sourcePath: String
    var source: String
    var object: ELFObject

    enum Language { case c, cxx }

    static func compile(name: String, source: String, language: Language = .c,
                        flags: [String] = ["-g", "-O0"]) throws -> CompiledFixture {
        let directory = NSTemporaryDirectory() + "swheap-fixture-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let sourcePath = directory + "/" + name + (language == .c ? ".c" : ".cpp")
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        let binary = directory + "/" + name
        try runTool(language == .c ? "cc" : "c++", flags + ["-o", binary, sourcePath])
        return CompiledFixture(directory: directory, sourcePath: sourcePath, source: source, object: ELFObject(path: binary))
    }

    /// 1-based number of the first source line containing `marker`.
    func line(of marker: String) -> Int {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.firstIndex { $0.contains(marker) } ?? -1) + 1
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

final class SymbolizerFixtureTests: XCTestCase {
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
