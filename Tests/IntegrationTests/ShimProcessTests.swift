// Dumps over time, forks, exec'd children, signals, failure modes, and the host program's
// own behaviour under the preload.

import Foundation
import SwHeapDump
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimProcessTests: XCTestCase {
    override func setUpWithError() throws { try Harness.requireBuild() }

    func testPeriodicDumpsAppearWhileTheProgramRuns() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        // Start it in the background and watch the directory fill before it exits.
        let process = try ProgramRunner.start(exe, ["30", "50"], // 30 steps of 50 ms
                                              environment: ["LD_PRELOAD": Harness.shim, "SWHEAP_RATE": "1",
                                                            "SWHEAP_INTERVAL": "0.1", "SWHEAP_DIR": dumps.path])
        Thread.sleep(forTimeInterval: 0.8)
        let whileRunning = (try? FileManager.default.contentsOfDirectory(atPath: dumps.path)) ?? []
        XCTAssertTrue(process.isRunning, "the fixture should still be running")
        XCTAssertGreaterThanOrEqual(whileRunning.filter { $0.hasSuffix(".swheap") }.count, 3, "\(whileRunning)")
        let partial = try HeapStore.load(directory: dumps.path) // a running process's directory loads
        XCTAssertFalse(try XCTUnwrap(partial.processes.first).isFinal)
        _ = try process.wait()
        let store = try HeapStore.load(directory: dumps.path)
        let heap = try XCTUnwrap(store.processes.first)
        XCTAssertTrue(heap.isFinal)
        XCTAssertEqual(heap.epochs.map(\.epoch), Array(1...UInt64(heap.epochs.count)))
        XCTAssertGreaterThanOrEqual(heap.epochs.count, 10)
        // The leak grows epoch over epoch: 30 steps x 1000 bytes by the end.
        let sites = heap.figuresBySite(functions: try Harness.functions(of: exe))
        XCTAssertEqual(sites["site_leak"]?.liveBytes, 30000)
        let first = heap.figuresBySite(functions: try Harness.functions(of: exe), epochIndex: 0)
        XCTAssertLessThan(first["site_leak"]?.liveBytes ?? 0, 30000, "early epochs see less of the leak")
    }

    func testForkedChildWritesItsOwnDumps() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("forking.c", into: dir)
        let (result, store) = try Harness.profile(exe, dumps: dir.appendingPathComponent("dumps"), rate: 1,
                                                  interval: 0.1)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(store.processes.count, 2)
        let functions = try Harness.functions(of: exe)
        let parent = try XCTUnwrap(store.processes.first { p in store.processes.contains { $0.parentPID == p.pid } })
        let child = try XCTUnwrap(store.processes.first { $0.parentPID == parent.pid })
        XCTAssertTrue(parent.isFinal)
        XCTAssertTrue(child.isFinal)
        XCTAssertGreaterThanOrEqual(child.epochs.count, 2, "the child writes periodic dumps too")
        XCTAssertEqual(parent.figuresBySite(functions: functions)["site_parent"]?.liveObjects, 10)
        XCTAssertNil(parent.figuresBySite(functions: functions)["site_child"])
        let childSites = child.figuresBySite(functions: functions)
        XCTAssertEqual(childSites["site_child"]?.liveObjects, 20)
        XCTAssertEqual(childSites["site_parent"] ?? SiteFigures(), SiteFigures(), "the child starts with clean books")
    }

    func testOutputAndExitStatusAreUnchanged() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let plain = try Harness.run(exe, ["a", "b"], environment: [:])
        // Without periodic dumps no writer thread is started: the program stays single-threaded
        // (behaviour.c prints glibc's __libc_single_threaded).
        var env = ["SWHEAP_DIR": dir.appendingPathComponent("dumps").path, "SWHEAP_RATE": "4096", "SWHEAP_INTERVAL": "0"]
        let profiled = try Harness.run(exe, ["a", "b"], environment: env, preload: true)
        XCTAssertTrue(plain.stdout.contains("single-threaded: yes"), plain.stdout)
        XCTAssertEqual(plain.status, 3)
        XCTAssertEqual(profiled.status, plain.status)
        XCTAssertEqual(profiled.stdout, plain.stdout)
        XCTAssertEqual(profiled.stderr, plain.stderr)
        // With periodic dumps (the default) the writer thread runs from start-up, so that a
        // program that goes idle still gets dumps: that is the one visible difference.
        env["SWHEAP_INTERVAL"] = nil
        env["SWHEAP_DIR"] = dir.appendingPathComponent("periodic").path
        let periodic = try Harness.run(exe, ["a", "b"], environment: env, preload: true)
        XCTAssertEqual(periodic.status, plain.status)
        XCTAssertEqual(periodic.stdout, plain.stdout.replacingOccurrences(of: "single-threaded: yes",
                                                                          with: "single-threaded: no"))
        // And through `swheap run`, which must exit the way the program did.
        let viaRun = try Harness.run(Harness.swheap, ["run", "--rate", "4096", "--dir",
                                                      dir.appendingPathComponent("run").path, "--", exe, "a", "b"],
                                     environment: ["SWHEAP_INTERVAL": "0"])
        XCTAssertEqual(viaRun.status, 3)
        XCTAssertEqual(viaRun.stdout, plain.stdout)
        let killed = try Harness.run(Harness.swheap, ["run", "--dir", dir.appendingPathComponent("kill").path,
                                                      "--", exe, "kill"], environment: [:])
        XCTAssertTrue(killed.signalled, "a program killed by a signal: swheap run dies of the same signal")
        XCTAssertEqual(killed.status, SIGTERM)
    }

    /// A forked child that execs (what shells and posix_spawn do) is profiled as its own process.
    func testExecedChildrenAreFollowedUnlessTurnedOff() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let followed = dir.appendingPathComponent("followed")
        let (r1, s1) = try Harness.profile(exe, ["exec"], dumps: followed, rate: 1)
        XCTAssertEqual(r1.status, 3, r1.stderr)
        XCTAssertEqual(s1.processes.count, 2, "the exec'd child writes its own dumps")
        let alone = dir.appendingPathComponent("alone")
        let (r2, s2) = try Harness.profile(exe, ["exec"], dumps: alone, rate: 1, extra: ["SWHEAP_FOLLOW": "0"])
        XCTAssertEqual(r2.status, 3, r2.stderr)
        XCTAssertEqual(s2.processes.count, 1)
        XCTAssertTrue(r2.stdout.contains("LD_PRELOAD=<unset>"), r2.stdout)
    }

    /// exec without fork keeps the pid: the new image's dumps continue the epoch numbers
    /// instead of overwriting the old image's, and the two read back as two programs.
    func testExecInPlaceKeepsTheEarlierImagesDumps() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let (result, store) = try Harness.profile(exe, ["inplace"], dumps: dumps, rate: 1, interval: 0.05)
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertEqual(store.processes.count, 2, "two program images under one pid")
        XCTAssertEqual(Set(store.processes.map(\.pid)).count, 1)
        let first = try XCTUnwrap(store.processes.min { $0.epochs[0].epoch < $1.epochs[0].epoch })
        let second = try XCTUnwrap(store.processes.max { $0.epochs[0].epoch < $1.epochs[0].epoch })
        XCTAssertGreaterThanOrEqual(first.epochs.count, 2, "the first image's periodic dumps survive")
        XCTAssertFalse(first.isFinal, "exec writes no exit dump for the image it replaces")
        XCTAssertTrue(second.isFinal)
        XCTAssertGreaterThan(second.epochs[0].epoch, first.epochs.last!.epoch)
    }

    func testUnwritableDirectorySaysSoOnceAndTheProgramRunsOn() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let plain = try Harness.run(exe, ["a"], environment: [:])
        let result = try Harness.run(exe, ["a"], environment: ["SWHEAP_DIR": "/proc/self/no-such-dir"], preload: true)
        XCTAssertEqual(result.status, plain.status)
        XCTAssertEqual(result.stdout, plain.stdout)
        let ours = result.stderr.split(separator: "\n").filter { $0.hasPrefix("swheap:") }
        XCTAssertEqual(ours.count, 1, result.stderr)
        XCTAssertTrue(ours.first?.contains("/proc/self/no-such-dir") ?? false)
    }

    func testSignalAndByteTriggeredDumps() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("growing.c", into: dir)
        let byBytes = dir.appendingPathComponent("bytes")
        // 30 steps x 1000 bytes of leak plus churn; a dump every 10000 allocated bytes.
        let (r1, s1) = try Harness.profile(exe, ["30", "10"], dumps: byBytes, rate: 1,
                                           extra: ["SWHEAP_DUMP_BYTES": "10000"])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(s1.processes.first).epochs.count, 4)

        let bySignal = dir.appendingPathComponent("signal")
        let process = try ProgramRunner.start(exe, ["20", "50"], environment: [
            "LD_PRELOAD": Harness.shim, "SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0",
            "SWHEAP_SIGNAL": String(SIGUSR1), "SWHEAP_DIR": bySignal.path])
        Thread.sleep(forTimeInterval: 0.3)
        kill(process.pid, SIGUSR1)
        Thread.sleep(forTimeInterval: 0.2)
        kill(process.pid, SIGUSR1)
        let ended = try process.wait()
        XCTAssertEqual(ended.status, 0)
        XCTAssertFalse(ended.signalled)
        let heap = try XCTUnwrap(try HeapStore.load(directory: bySignal.path).processes.first)
        XCTAssertEqual(heap.epochs.count, 3, "two signalled dumps and the exit dump")
    }

    func testRateZeroTurnsProfilingOff() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("behaviour.c", into: dir)
        let dumps = dir.appendingPathComponent("off")
        let result = try Harness.run(exe, ["a"], environment: ["SWHEAP_RATE": "0", "SWHEAP_DIR": dumps.path],
                                     preload: true)
        XCTAssertEqual(result.status, 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dumps.path))
    }
}
