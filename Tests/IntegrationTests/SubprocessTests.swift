// The one spawn (SwHeapSystem.Subprocess) and the test runner built on it, with /bin/sh.

import Foundation
import SwHeapSystem
import SwHeapTestSupport
import XCTest

final class SubprocessTests: XCTestCase {
    func testExitStatusSignalsAndOutput() throws {
        let ok = try ProgramRunner.run("sh", ["-c", "echo out; echo err >&2; exit 3"])
        XCTAssertEqual(ok.status, 3)
        XCTAssertFalse(ok.signalled)
        XCTAssertEqual(ok.stdout, "out\n")
        XCTAssertEqual(ok.stderr, "err\n")
        let killed = try ProgramRunner.run("sh", ["-c", "kill -TERM $$"])
        XCTAssertTrue(killed.signalled)
        XCTAssertEqual(killed.status, SIGTERM)
    }

    func testEnvironmentIsCleanedOfProfilerSettings() throws {
        let environment = ProgramRunner.environment(["SWHEAP_RATE": "1", "X": "y"], preload: "/lib/shim.so")
        XCTAssertEqual(environment["SWHEAP_RATE"], "1")
        XCTAssertEqual(environment["LD_PRELOAD"], "/lib/shim.so")
        let printed = try ProgramRunner.output("sh", ["-c", "echo \"$X\""], environment: ["X": "y"])
        XCTAssertEqual(printed, "y\n")
    }

    func testMissingProgramIsAnErrorLikeTheShells() {
        XCTAssertThrowsError(try Subprocess.spawn(["/nonexistent/program"])) { error in
            let spawn = error as? Subprocess.SpawnError
            XCTAssertEqual(spawn?.exitCode, 127)
            XCTAssertEqual(spawn?.description, "cannot run '/nonexistent/program': No such file or directory")
        }
        XCTAssertThrowsError(try ProgramRunner.output("false", []))
    }

    func testTimeoutStopsAHungProgram() throws {
        let started = Date()
        XCTAssertThrowsError(try ProgramRunner.run("sleep", ["30"], timeout: 0.3))
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }
}
