// The dump directory failing under a running program: a full file system (a 64 KiB tmpfs in a
// private mount namespace, so nothing outlives the test) and the directory removed mid-run.
// The program runs on with its output and status unchanged, the shim says so once, and no
// partial file is left: every file there is a complete dump (with the complete chunks of its
// stack log; a torn chunk at the log's end is beyond every length an epoch file names).
// And a program that closes descriptor numbers it does not own while the shim writes.

import Foundation
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimFaultTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    private func ourLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("swheap:") }
    }

    /// Runs `growing` under the shim on a small tmpfs that `fill` KiB of filler leave almost
    /// full; the dumps are copied out before the namespace (and its tmpfs) goes.
    private func runOnFullTmpfs(fillKiB: Int, into dir: URL) throws -> (RunResult, [String], URL) {
        guard ProgramRunner.exists("unshare") else { throw XCTSkip("unshare (util-linux) is missing") }
        let exe = try Harness.compile("growing.c", into: dir)
        let mount = dir.appendingPathComponent("mnt"), copy = dir.appendingPathComponent("copy")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: false)
        // As root a mount namespace is enough; otherwise a user namespace maps us to root in it.
        let unshare = geteuid() == 0 ? ["--mount"] : ["--user", "--map-root-user", "--mount"]
        let script = """
            mount -t tmpfs -o size=64k tmpfs "$1" || exit 90
            head -c $(($2 * 1024)) /dev/zero > "$1/filler" 2>/dev/null
            LD_PRELOAD="$3" SWHEAP_RATE=1 SWHEAP_INTERVAL=0.02 SWHEAP_DIR="$1/dumps" "$4" 40 10
            status=$?
            cp -a "$1/dumps" "$5" 2>/dev/null || mkdir "$5"
            exit $status
            """
        let result = try Harness.run("unshare", unshare + ["sh", "-c", script, "sh", mount.path, String(fillKiB),
                                                           Harness.shim, exe, copy.path], environment: [:])
        if result.status == 90 { throw XCTSkip("cannot mount a tmpfs here: \(result.stderr)") }
        let plain = try Harness.run(exe, ["40", "10"], environment: [:])
        XCTAssertEqual(result.status, plain.status, result.stderr)
        XCTAssertEqual(result.stdout, plain.stdout)
        return (result, try FileManager.default.contentsOfDirectory(atPath: copy.path), copy)
    }

    func testFullFileSystemFromTheStart() throws {
        let dir = try Harness.scratch()
        let (result, files, _) = try runOnFullTmpfs(fillKiB: 64, into: dir)
        let ours = ourLines(result.stderr)
        XCTAssertEqual(ours.count, 1, result.stderr)
        XCTAssertTrue(ours.first?.contains("cannot write a dump") ?? false, result.stderr)
        XCTAssertEqual(files, [], "no partial files")
    }

    func testFileSystemFillingUpMidRun() throws {
        let dir = try Harness.scratch()
        let (result, files, copy) = try runOnFullTmpfs(fillKiB: 48, into: dir)
        XCTAssertEqual(ourLines(result.stderr).count, 1, "ENOSPC reached, said once: \(result.stderr)")
        XCTAssertFalse(files.isEmpty, "the first dumps fit")
        XCTAssertTrue(files.allSatisfy { ($0.hasSuffix(".swheap") || $0.hasSuffix(".log")) && !$0.hasPrefix(".") }, "\(files)")
        XCTAssertEqual(files.filter { $0.hasSuffix(".log") }.count, 1, "one stack log: \(files)")
        XCTAssertNoThrow(try HeapStore.load(directory: copy.path), "every file left is a whole dump")
    }

    func testDirectoryRemovedMidRun() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let plain = try Harness.run(exe, ["60", "10"], environment: [:])
        let process = try ProgramRunner.start(exe, ["60", "10"], environment: [
            "LD_PRELOAD": Harness.shim, "SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.02", "SWHEAP_DIR": dumps.path])
        var removed = false
        for _ in 0..<200 where !removed {
            Thread.sleep(forTimeInterval: 0.01)
            // The writer may add a file while the directory is emptied: try again until gone.
            if ((try? FileManager.default.contentsOfDirectory(atPath: dumps.path)) ?? []).count >= 2 {
                while FileManager.default.fileExists(atPath: dumps.path) {
                    try? FileManager.default.removeItem(at: dumps)
                }
                removed = true
            }
        }
        XCTAssertTrue(removed, "dumps appeared before the directory was removed")
        XCTAssertTrue(process.isRunning, "removed while the program still ran")
        let result = try process.wait()
        XCTAssertEqual(result.status, plain.status)
        XCTAssertFalse(result.signalled)
        XCTAssertEqual(result.stdout, plain.stdout)
        let ours = ourLines(result.stderr)
        XCTAssertEqual(ours.count, 1, result.stderr)
        XCTAssertTrue(ours.first?.contains("cannot write a dump") ?? false, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dumps.path), "nothing recreated, nothing partial")
    }

    /// bash closes a pipe's number twice; a daemon closes every number it did not open. The
    /// shim's writer runs meanwhile: its files must not be closed under it, and the program's
    /// file that reuses a number must never receive a dump's bytes (the fixture checks its file
    /// line by line; the shim that held low numbers failed this in 4 runs of 5).
    func testProgramClosingNumbersItDoesNotOwn() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("stale_close.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps"), own = dir.appendingPathComponent("own.txt")
        let result = try Harness.run(exe, ["2000", own.path], environment: [
            "LD_PRELOAD": Harness.shim, "SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.02", "SWHEAP_DIR": dumps.path])
        XCTAssertEqual(result.stdout, "intact\n", result.stderr)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(ourLines(result.stderr), [], "no dump failed")
        let heap = try XCTUnwrap(try HeapStore.load(directory: dumps.path).processes.first)
        XCTAssertGreaterThanOrEqual(heap.epochs.count, 5, "dumps were written while the program closed numbers")
    }
}
