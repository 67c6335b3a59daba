// `swheap attach` and `swheap detach` on a real service started without swheap: its output is
// unchanged, it runs on after detach, its leak is found; a killed or interrupted injector
// never leaves it stopped or broken. Needs ptrace permission over its own children (as root
// in CI; the bad-input tests that need other users skip without root).

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

enum AttachHarness {
    static var injector: String { Harness.release.appendingPathComponent("swheap-attach").path }

    static func require() throws {
        try Harness.requireBuild()
        guard FileManager.default.isExecutableFile(atPath: injector) else {
            throw HarnessError("\(injector) is missing: run scripts/build (scripts/test does) before the tests")
        }
    }

    /// `swheap ARGS` with our environment plus `environment`.
    static func swheap(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> RunResult {
        try Harness.run(Harness.swheap, arguments, environment: environment, timeout: timeout)
    }

    /// The shim's own account of itself in `pid` (`swheap-attach status`).
    static func status(_ pid: pid_t) throws -> [String: String] {
        let out = try ProgramRunner.output(injector, ["status", String(pid)])
        var fields: [String: String] = [:]
        for line in out.split(separator: "\n") {
            if let eq = line.firstIndex(of: "=") { fields[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
        }
        return fields
    }

    /// Waits until the program has printed `text` (it is up and running).
    static func waitForOutput(_ program: RunningProgram, _ text: String, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !program.standardOutputSoFar.contains(text) {
            guard program.isRunning, Date() < deadline else {
                if program.standardOutputSoFar.contains(text) { return }
                throw HarnessError("pid \(program.pid) never printed \"\(text)\" (\(program.isRunning ? "still running" : "exited")); "
                                   + "stdout: \(program.standardOutputSoFar.suffix(400)) stderr: \(program.standardErrorSoFar.suffix(400))")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}

final class AttachTests: XCTestCase {
    override func setUpWithError() throws { try AttachHarness.require() }

    /// The fixture's output without swheap: what every attached run must print too.
    private func reference(_ exe: String, _ arguments: [String]) throws -> String {
        let result = try Harness.run(exe, arguments, environment: [:])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("corrupt 0"), result.stdout)
        return result.stdout
    }

    func testAttachThenDetachLeavesTheServiceAsItWasAndFindsItsLeak() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("attach_service.cpp", into: dir)
        let arguments = ["1500", "2000"]
        let expected = try reference(exe, arguments)
        let dumps = dir.appendingPathComponent("dumps").path

        let service = try ProgramRunner.start(exe, arguments, environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(service, "iteration 100 ")
        let attach = try AttachHarness.swheap(["attach", String(service.pid), "--for", "2s", "--interval", "0.15",
                                               "--rate", "4096", "--dir", dumps])
        XCTAssertEqual(attach.status, 0, attach.stderr)
        XCTAssertTrue(attach.stdout.contains("attached to pid \(service.pid)"), attach.stdout)
        XCTAssertTrue(attach.stdout.contains("dump written: \(dumps)/\(service.pid)."), attach.stdout)
        XCTAssertTrue(attach.stdout.contains("detached from pid \(service.pid)"), attach.stdout)

        // Detached: it runs on, with every hook put back and the writer gone.
        XCTAssertTrue(service.isRunning, "the service stopped running after detach")
        let status = try AttachHarness.status(service.pid)
        XCTAssertEqual(status["state"], "detached")
        XCTAssertEqual(status["patched"], "0")
        var threads = 0
        for _ in 0..<100 {  // the control thread ends just after it says detached
            threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(service.pid)/task").count
            if threads == 2 { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertEqual(threads, 2, "the service's own two threads only: the shim's threads ended")

        let result = try service.wait(timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, expected, "the attached run printed something else than the run without swheap")
        XCTAssertEqual(result.stderr, "", "nothing of swheap's on the service's stderr")

        // The dumps: the heap before attach, the times, and the leak as a growing site.
        let store = try HeapStore.load(directory: dumps)
        let process = try XCTUnwrap(store.processes.first { $0.pid == service.pid })
        XCTAssertGreaterThanOrEqual(process.epochs.count, 8)
        let attached = try XCTUnwrap(process.attach, "the dumps carry ATTACH")
        XCTAssertGreaterThan(attached.heapBeforeBytes ?? 0, 100_000, "glibc's figure for the heap before attach")
        let detachedAt = try XCTUnwrap(attached.detachedWallNs)
        XCTAssertGreaterThan(detachedAt, attached.attachedWallNs)

        let json = try AttachHarness.swheap(["report", dumps, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let first = try XCTUnwrap((document["processes"] as? [[String: Any]])?.first)
        let attachJSON = try XCTUnwrap(first["attach"] as? [String: Any])
        XCTAssertNotNil(attachJSON["attached_at"] as? String)
        XCTAssertNotNil(attachJSON["detached_at"] as? String)
        XCTAssertEqual((attachJSON["heap_before_bytes"] as? NSNumber)?.uint64Value, attached.heapBeforeBytes)
        let suspects = try XCTUnwrap(first["suspects"] as? [[String: Any]])
        let leak = try XCTUnwrap(suspects.first { ($0["site"] as? String)?.contains("site_leak") == true }, json.stdout)
        XCTAssertEqual(leak["verdict"] as? String, "growing", "\(leak)")
        let cache = suspects.first { ($0["site"] as? String)?.contains("site_cache_entry") == true }
        XCTAssertNotEqual(cache?["verdict"] as? String, "growing", "the bounded cache is not a leak")
        // The memory picture and the thread census work attached as preloaded.
        let memory = try XCTUnwrap(first["memory"] as? [String: Any], json.stdout)
        XCTAssertEqual(memory["allocator"] as? String, "glibc", "\(memory)")
        XCTAssertGreaterThan((memory["allocator_in_use_bytes"] as? NSNumber)?.doubleValue ?? 0, 0, "\(memory)")
        let census = try XCTUnwrap(first["threads"] as? [String: Any], json.stdout)
        XCTAssertEqual(census["truncated"] as? Bool, false, "\(census)")

        let text = try AttachHarness.swheap(["report", dumps])
        XCTAssertTrue(text.stdout.contains("of heap predates attach"), text.stdout)
        XCTAssertTrue(text.stdout.contains("detached while the process ran"), text.stdout)
    }

    /// Attach, detach, attach again: the second attach starts a new image with an empty
    /// table (nothing of the first one's blocks, some freed since, shows as live).
    func testSecondAttachStartsClean() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("attach_service.cpp", into: dir)
        let arguments = ["1800", "2000"]
        let expected = try reference(exe, arguments)
        let dumps = dir.appendingPathComponent("dumps").path
        let service = try ProgramRunner.start(exe, arguments, environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(service, "iteration 100 ")
        for _ in 0..<2 {
            let attach = try AttachHarness.swheap(["attach", String(service.pid), "--for", "0.8s", "--interval", "0.2", "--dir", dumps])
            XCTAssertEqual(attach.status, 0, attach.stderr)
        }
        let result = try service.wait(timeout: 120)
        XCTAssertEqual(result.stdout, expected)
        let store = try HeapStore.load(directory: dumps)
        let images = store.processes.filter { $0.pid == service.pid }
        XCTAssertEqual(images.count, 2, "each attach is its own process image")
        XCTAssertTrue(images.allSatisfy { $0.attach?.detachedWallNs != nil })
    }

    /// Children forked while attached are not profiled (no dumps of theirs) and run as they
    /// would; the parent is profiled throughout.
    func testForkedChildrenAreNotProfiled() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("attach_service.cpp", into: dir)
        let arguments = ["1200", "2000", "fork"]
        let expected = try reference(exe, arguments)
        let dumps = dir.appendingPathComponent("dumps").path
        let service = try ProgramRunner.start(exe, arguments, environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(service, "iteration 0 ")
        let attach = try AttachHarness.swheap(["attach", String(service.pid), "--for", "1.5s", "--interval", "0.2", "--dir", dumps])
        XCTAssertEqual(attach.status, 0, attach.stderr)
        let result = try service.wait(timeout: 120)
        XCTAssertEqual(result.stdout, expected)
        XCTAssertEqual(result.stderr, "")
        let files = try FileManager.default.contentsOfDirectory(atPath: dumps)
        XCTAssertFalse(files.isEmpty)
        XCTAssertTrue(files.allSatisfy { $0.hasPrefix("\(service.pid).") }, "a child wrote dumps: \(files)")
    }

    /// `swheap detach` from another shell, while `swheap attach` runs without --for.
    func testDetachCommandEndsARunningAttach() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("attach_service.cpp", into: dir)
        let dumps = dir.appendingPathComponent("dumps").path
        let service = try ProgramRunner.start(exe, ["2500", "2000"], environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(service, "iteration 100 ")
        let attach = try ProgramRunner.start(Harness.swheap, ["attach", String(service.pid), "--interval", "0.2", "--dir", dumps],
                                             environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(attach, "attached to pid")
        Thread.sleep(forTimeInterval: 0.5)
        let detach = try AttachHarness.swheap(["detach", String(service.pid)])
        XCTAssertEqual(detach.status, 0, detach.stderr)
        XCTAssertTrue(detach.stdout.contains("detached from pid \(service.pid)"), detach.stdout)
        let ended = try attach.wait(timeout: 30)
        XCTAssertEqual(ended.status, 0, ended.stderr)
        XCTAssertTrue(ended.stdout.contains("was detached elsewhere"), ended.stdout)
        // and Ctrl-C: a second attach, interrupted, detaches
        let again = try ProgramRunner.start(Harness.swheap, ["attach", String(service.pid), "--interval", "0.2", "--dir", dumps],
                                            environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(again, "attached to pid")
        again.child.send(SIGINT)
        let interrupted = try again.wait(timeout: 30)
        XCTAssertEqual(interrupted.status, 0, interrupted.stderr)
        XCTAssertTrue(interrupted.stdout.contains("detached from pid \(service.pid) (interrupted)"), interrupted.stdout)
        XCTAssertEqual(try AttachHarness.status(service.pid)["state"], "detached")
        let result = try service.wait(timeout: 120)
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("corrupt 0"), result.stdout)
    }

    /// The injector SIGKILLed at every step: the service never stays stopped and prints what
    /// it prints without swheap. Without a sleeping thread the injector borrows a running
    /// one and lets it go at once (steps 1-4); with one it follows the call (steps 1-8).
    func testKilledInjectorNeverHarmsTheService() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("attach_service.cpp", into: dir)
        for (extra, steps) in [([String](), 1...4), (["sleeper"], 1...8)] {
            let arguments = ["400", "2000"] + extra
            let expected = try reference(exe, arguments)
            for step in steps {
                let service = try ProgramRunner.start(exe, arguments, environment: ProgramRunner.environment())
                try AttachHarness.waitForOutput(service, "iteration 0 ")
                let attach = try AttachHarness.swheap(["attach", String(service.pid), "--for", "0.3s", "--dir",
                                                       dir.appendingPathComponent("dumps\(step)\(extra.count)").path],
                                                      environment: ["SWHEAP_ATTACH_DIE_AT": String(step)])
                if attach.status != 0 {
                    XCTAssertTrue(attach.stderr.contains("was killed (signal 9) midway"), "step \(step) \(extra): \(attach.stderr)")
                } else if !extra.isEmpty {
                    XCTFail("step \(step) \(extra): the injector was not killed: \(attach.stdout)")
                }
                let result = try service.wait(timeout: 60)
                XCTAssertEqual(result.status, 0, "step \(step) \(extra): \(result.stderr)")
                XCTAssertEqual(result.stdout, expected, "step \(step) \(extra): the service's output changed")
            }
        }
    }
}
