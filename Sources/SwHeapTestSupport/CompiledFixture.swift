// Compiles small native programs and describes them the way a dump would (modules with
// PT_LOAD segments, build IDs, symbol addresses), with cc, c++, readelf and nm from PATH.
// Integration tests only: the unit tests run no external tool.

import Foundation
import SwHeapDump

/// An ELF object on disk, described the way the shim's MODULES section would describe it.
public struct ELFObject: Sendable {
    public var path: String

    public init(path: String) { self.path = path }

    /// PT_LOAD segments shifted by `loadBias`, and the GNU build ID.
    public func module(loadBias: UInt64) throws -> Module {
        var segments: [Segment] = []
        for line in try ProgramRunner.output("readelf", ["-lW", path]).split(separator: "\n") {
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

    public func buildID() throws -> [UInt8] {
        let notes = try ProgramRunner.output("readelf", ["-n", path])
        guard let line = notes.split(separator: "\n").first(where: { $0.contains("Build ID:") }),
              let hex = line.split(separator: " ").last else { return [] }
        let digits = Array(hex)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
    }

    /// The ELF virtual address of a symbol (mangled name as in the symbol table).
    public func symbolAddress(_ name: String, dynamic: Bool = false) throws -> UInt64 {
        let listing = try ProgramRunner.output("nm", (dynamic ? ["-D"] : []) + [path])
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 3, fields[2] == name, let address = UInt64(fields[0], radix: 16) { return address }
        }
        throw ToolError("\(name) not in the symbol table of \(path)")
    }
}

/// A program compiled for a test in a fresh temporary directory.
public struct CompiledFixture: Sendable {
    public var directory: String
    public var sourcePath: String
    public var source: String
    public var object: ELFObject

    public enum Language: Sendable { case c, cxx }

    public static func compile(name: String, source: String, language: Language = .c,
                        flags: [String] = ["-g", "-O0"]) throws -> CompiledFixture {
        let directory = try Scratch.directory("fixture" + name)
        let sourcePath = directory + "/" + name + (language == .c ? ".c" : ".cpp")
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        let binary = directory + "/" + name
        try ProgramRunner.output(language == .c ? "cc" : "c++", flags + ["-o", binary, sourcePath])
        return CompiledFixture(directory: directory, sourcePath: sourcePath, source: source, object: ELFObject(path: binary))
    }

    /// 1-based number of the first source line containing `marker`.
    public func line(of marker: String) -> Int {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.firstIndex { $0.contains(marker) } ?? -1) + 1
    }

    public func remove() { Scratch.remove(directory) }
}
