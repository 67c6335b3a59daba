// The shim refuses what another user could plant or a privileged program could leak: a dump
// directory that is a symbolic link or someone else's, set-user/group-ID programs, and
// environment values out of range or shaped like format strings. Each is said once on stderr
// and the program's own output and status stay as they were.

import Foundation
import SwHeapTestSupport
import XCTest

final class ShimSecurityTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    private func ourLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("swheap:") }
    }

    private func withoutThreadLine(_ output: String) -> [Substring] {
        output.split(separator: "\n").filter { !$0.hasPrefix("single-threaded:") }
    }

    private func assertRefused(_ exe: String, dir: String, saying words: String, file: StaticString = #filePath,
                               line: UInt = #line) throws {
        let plain = try Harness.run(exe, ["a"], environment: [:])
        let result = try Harness.run(exe, ["a"], environment: ["SWHEAP_DIR": dir, "SWHEAP_RATE": "1"], preload: true)
        XCTAssertEqual(result.status, plain.status, file: file, line: line)
        XCTAssertEqual(result.stdout, plain.stdout, file: file, line: line)
        let ours = ourLines(result.stderr)
        XCTAssertEqual(ours.count, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(ours.first?.contains(words) ?? false, result.stderr, file: file, line: line)
    }

    func testSymbolicLinkDirectoryIsRefused() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let target = dir.appendingPathComponent("target")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        let link = dir.appendingPathComponent("link").path
        XCTAssertEqual(symlink(target.path, link), 0)
        try assertRefused(exe, dir: link, saying: "symbolic link")
        try assertRefused(exe, dir: link + "/", saying: "symbolic link")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.path), [], "nothing written through the link")
    }

    func testDirectoryOwnedByAnotherUserIsRefused() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to give a directory to another user") }
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let theirs = dir.appendingPathComponent("theirs").path
        XCTAssertEqual(mkdir(theirs, 0o777), 0)
        XCTAssertEqual(chown(theirs, 65534, 65534), 0)  // nobody
        try assertRefused(exe, dir: theirs, saying: "owned by another user")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: theirs), [])
    }

    /// A set-group-ID program (secure execution: AT_SECURE) that links the shim directly, since
    /// the loader ignores LD_PRELOAD paths there. Without the bit the same binary is profiled,
    /// so the shim really is loaded.
    func testSetIDProgramsAreNeverProfiled() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to make a set-group-ID program for another group") }
        let dir = try Harness.scratch()
        let release = Harness.release.path
        let exe = try Harness.compile("behaviour.c", into: dir,
                                      extraFlags: ["-L" + release, "-l:libswheap.so", "-Wl,-rpath," + release])
        let plain = try Harness.run(exe, ["a"], environment: ["SWHEAP_RATE": "0"])
        let profiled = dir.appendingPathComponent("profiled").path
        let control = try Harness.run(exe, ["a"], environment: ["SWHEAP_DIR": profiled, "SWHEAP_RATE": "1"])
        XCTAssertEqual(control.status, plain.status)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: profiled).isEmpty, "the linked shim profiles")

        XCTAssertEqual(chown(exe, 0, 65534), 0)  // group nogroup
        XCTAssertEqual(chmod(exe, 0o2755), 0)
        let secure = dir.appendingPathComponent("secure").path
        let result = try Harness.run(exe, ["a"], environment: ["SWHEAP_DIR": secure, "SWHEAP_RATE": "1"])
        XCTAssertEqual(result.status, plain.status)
        XCTAssertEqual(result.stdout, plain.stdout)
        let ours = ourLines(result.stderr)
        XCTAssertEqual(ours.count, 1, result.stderr)
        XCTAssertTrue(ours.first?.contains("secure-execution") ?? false, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: secure), "no dump directory for a set-ID program")
    }

    func testOutOfRangeAndFormatShapedSettingsAreHarmless() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let plain = try Harness.run(exe, ["a"], environment: [:])
        let settings: [[String: String]] = [
            ["SWHEAP_RATE": "-1"], ["SWHEAP_RATE": "99999999999999999999999"], ["SWHEAP_RATE": " 5"],
            ["SWHEAP_RATE": "2199023255552"],  // above the 1 TiB cap
            ["SWHEAP_INTERVAL": "inf"], ["SWHEAP_INTERVAL": "nan"], ["SWHEAP_INTERVAL": "1e300"],
            ["SWHEAP_SIGNAL": "99999"],
            // uncatchable (SIGKILL, SIGSTOP) or the program's own faults (SIGSEGV, SIGBUS)
            ["SWHEAP_SIGNAL": String(SIGKILL)], ["SWHEAP_SIGNAL": String(SIGSTOP)],
            ["SWHEAP_SIGNAL": String(SIGSEGV)], ["SWHEAP_SIGNAL": String(SIGBUS)],
            ["SWHEAP_DEPTH": "%n%n%s%s"], ["SWHEAP_DUMP_BYTES": "-5"],
        ]
        for (i, setting) in settings.enumerated() {
            let dumps = dir.appendingPathComponent("dumps\(i)").path
            let result = try Harness.run(exe, ["a"], environment: setting.merging(["SWHEAP_DIR": dumps]) { a, _ in a },
                                         preload: true)
            XCTAssertEqual(result.status, plain.status, "\(setting)")
            // With periodic dumps the writer thread runs from start-up, which behaviour.c
            // reports ("single-threaded: no"); everything else must match.
            XCTAssertEqual(withoutThreadLine(result.stdout), withoutThreadLine(plain.stdout), "\(setting)")
            let ours = ourLines(result.stderr)
            XCTAssertEqual(ours.count, 1, "\(setting): \(result.stderr)")
            XCTAssertTrue(ours.first?.contains(setting.keys.first!) ?? false, "\(setting): \(result.stderr)")
            XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dumps).isEmpty,
                           "\(setting): profiling goes on with the default")
        }
        // A directory name full of conversions is a name: used as it is, never as a format.
        let shaped = dir.appendingPathComponent("%s%n%x%p").path
        let result = try Harness.run(exe, ["a"], environment: ["SWHEAP_DIR": shaped], preload: true)
        XCTAssertEqual(result.status, plain.status)
        XCTAssertTrue(ourLines(result.stderr).isEmpty, result.stderr)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: shaped).isEmpty)
        // Too long for the shim's buffer: refused rather than truncated into another directory.
        let long = dir.path + "/" + String(repeating: "d", count: 200) + String(repeating: "/e", count: 2000)
        let tooLong = try Harness.run(exe, ["a"], environment: ["SWHEAP_DIR": long], preload: true)
        XCTAssertEqual(tooLong.status, plain.status)
        XCTAssertEqual(ourLines(tooLong.stderr).count, 1, tooLong.stderr)
        XCTAssertTrue(tooLong.stderr.contains("too long"), tooLong.stderr)
    }
}
