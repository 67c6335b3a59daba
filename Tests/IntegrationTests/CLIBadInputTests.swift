// Every command of the real CLI on every kind of bad input: an empty, truncated, foreign or
// future-version file, a file whose fields are out of range, a missing directory, a file given
// as the directory, a directory without dumps. Each must end with status 1 and exactly one
// line, `swheap: error: <path>: ...`, naming what to look at; never a trap or a signal.

import Foundation
import SwHeapDump
import SwHeapSynth
import XCTest

final class CLIBadInputTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    private func validDump(epoch: UInt64) -> Dump {
        Dump(header: DumpHeader(isFinal: epoch == 3, pid: 4242, parentPID: 1, epoch: epoch,
                                wallTimeNs: 1_700_000_000_000_000_000 + epoch, monotonicNs: 2_000_000_000 + epoch,
                                startMonotonicNs: 1_000_000_000, rate: 1, maxDepth: 64),
             executable: "/bin/app", commandLine: ["/bin/app"], modules: [],
             stacks: [StackRecord(id: 1, frames: [0x1000], allocObjects: 2, allocBytes: 64)],
             live: [LiveCell(stackID: 1, birthEpoch: 1, liveObjects: 1, liveBytes: 32)])
    }

    /// A directory with three good dumps, then `damage` applied to the bytes of the second (or,
    /// with `last`, the third: an incomplete last epoch is skipped with a warning instead).
    private func directory(_ name: String, last: Bool = false, _ damage: ([UInt8]) -> [UInt8]) throws -> (String, String) {
        let dir = try Harness.scratch(name)
        let paths = try (1...3).map { try DumpWriter.write(validDump(epoch: $0), toDirectory: dir.path) }
        let victim = paths[last ? 2 : 1]
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: victim)))
        try Data(damage(bytes)).write(to: URL(fileURLWithPath: victim))
        return (dir.path, victim)
    }

    /// A last epoch cut short (what a writer killed mid-write leaves) is skipped: one warning
    /// line naming it, status 0; a foreign last file is still an error.
    func testIncompleteLastEpochIsSkippedWithOneWarning() throws {
        let cut: [(String, ([UInt8]) -> [UInt8])] = [
            ("empty", { _ in [] }), ("truncated", { Array($0.prefix($0.count / 2)) }), ("headerOnly", { Array($0.prefix(72)) }),
        ]
        for (name, damage) in cut {
            let (dir, victim) = try directory(name + "Last", last: true, damage)
            for command in [["dumps"], ["report"], ["report", "--json"]] {
                let result = try Harness.run(Harness.swheap, [command[0], dir] + command.dropFirst(), environment: [:])
                XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
                let lines = result.stderr.split(separator: "\n")
                XCTAssertEqual(lines.count, 1, "\(name): \(result.stderr)")
                XCTAssertTrue(lines.first?.hasPrefix("swheap: warning: skipped \(victim), the incomplete last epoch") ?? false,
                              "\(name): \(result.stderr)")
            }
        }
        let (dir, victim) = try directory("foreignLast", last: true) { _ in Array("not a dump at all".utf8) }
        try assertOneLineError(dir, naming: victim)
    }

    private func assertOneLineError(_ directory: String, naming path: String, file: StaticString = #filePath,
                                    line: UInt = #line) throws {
        let output = directory + "/../out.pb.gz"
        // pprof reads only the epochs it writes: epoch 2, where the damage is.
        for command in [["dumps"], ["report"], ["report", "--json"], ["pprof", "--epoch", "2", "-o", output]] {
            let result = try Harness.run(Harness.swheap, [command[0], directory] + command.dropFirst(),
                                         environment: ["SWIFT_BACKTRACE": "enable=no"])
            let what = "swheap \(command.joined(separator: " ")) on \(path)"
            XCTAssertFalse(result.signalled, "\(what): killed by signal \(result.status)", file: file, line: line)
            XCTAssertEqual(result.status, 1, "\(what): \(result.stderr)", file: file, line: line)
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(what): \(result.stderr)", file: file, line: line)
            XCTAssertTrue(lines.first?.hasPrefix("swheap: error: \(path)") ?? false, "\(what): \(result.stderr)",
                          file: file, line: line)
        }
    }

    func testGoodDirectoryIsAccepted() throws {
        let (dir, _) = try directory("good") { $0 }
        let result = try Harness.run(Harness.swheap, ["dumps", dir], environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func testEmptyTruncatedForeignAndFutureFiles() throws {
        let cases: [(String, ([UInt8]) -> [UInt8], String)] = [
            ("empty", { _ in [] }, "truncated header"),
            ("truncated", { Array($0.prefix($0.count / 2)) }, "truncated"),
            ("headerOnly", { Array($0.prefix(72)) }, "missing END"),
            ("foreign", { _ in Array("\u{7f}ELF\u{2}\u{1}\u{1}\0 not a dump, an executable's first bytes".utf8) }, "not a swheap dump"),
            ("text", { _ in Array(String(repeating: "hello world\n", count: 20).utf8) }, "not a swheap dump"),
            ("future", { var b = $0; b[8] = 9; return b }, "unsupported format version 9"),
            ("nanEstimate", { bytes in
                var b = bytes
                // The first STACKS record's alloc_bytes: header, EXE, CMDLINE, MODULES sections first.
                let stacks = Self.sectionBody(b, tag: 4)! + 4
                withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { b.replaceSubrange(stacks + 16..<stacks + 24, with: $0) }
                return b
            }, "alloc_bytes is nan"),
        ]
        for (name, damage, words) in cases {
            let (dir, victim) = try directory(name, damage)
            try assertOneLineError(dir, naming: victim)
            let result = try Harness.run(Harness.swheap, ["dumps", dir], environment: [:])
            XCTAssertTrue(result.stderr.contains(words), "\(name): \(result.stderr)")
        }
    }

    func testMissingDirectoryFileAsDirectoryAndNoDumps() throws {
        try assertOneLineError("/nonexistent/swheap.dir", naming: "/nonexistent/swheap.dir")
        let dir = try Harness.scratch()
        let plainFile = dir.appendingPathComponent("file").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: plainFile))
        try assertOneLineError(plainFile, naming: plainFile)
        let empty = dir.appendingPathComponent("empty").path
        XCTAssertEqual(mkdir(empty, 0o755), 0)
        try Data("other".utf8).write(to: URL(fileURLWithPath: empty + "/notes.txt"))
        try assertOneLineError(empty, naming: empty)
    }

    /// The body offset of the first section with `tag`.
    static func sectionBody(_ b: [UInt8], tag: UInt32) -> Int? {
        var at = 72
        func u64(_ i: Int) -> Int { (0..<8).reduce(0) { $0 | Int(b[i + $1]) << (8 * $1) } }
        while at + 16 <= b.count {
            let t = UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
            if t == tag { return at + 16 }
            at += 16 + u64(at + 8)
        }
        return nil
    }
}
