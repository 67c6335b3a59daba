// Live scans under the real preload: a service that never exits and is SIGKILLed keeps the
// verdicts of the scans it ran (every SWHEAP_SCAN_INTERVAL, or asked by `swheap scan`), with
// LeakSanitizer's semantics (a dropped block unreferenced; blocks held by a global table, a
// worker's stack frame and its thread-local referenced); the copy of the process that scans is
// never seen by the program (no SIGCHLD, nothing to reap); bad input to `swheap scan` gets one
// line.

import Foundation
import SwHeapDump
import SwHeapOutput
import SwHeapRanking
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class LiveScanTests: XCTestCase {
    override func setUpWithError() throws { try AttachHarness.require() }

    private static let steps = 300

    /// live_scan under the preload at rate 1 (exact figures), started and waited for until steady.
    private func startService(_ dir: URL, _ extra: [String: String], arguments: [String] = []) throws -> (RunningProgram, String, String) {
        let exe = try Harness.compile("live_scan.c", into: dir, extraFlags: ["-pthread"])
        let dumps = dir.appendingPathComponent("dumps").path
        var settings = ["SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.2", "SWHEAP_DIR": dumps]
        settings.merge(extra) { _, new in new }
        let service = try ProgramRunner.start(exe, [String(Self.steps)] + arguments,
                                              environment: ProgramRunner.environment(settings, preload: Harness.shim))
        try AttachHarness.waitForOutput(service, "steady \(Self.steps)")
        return (service, dumps, exe)
    }

    private func killed(_ service: RunningProgram) throws {
        service.child.send(SIGKILL)
        _ = try? service.wait(timeout: 30)
    }

    /// What the scan found of the stacks whose innermost `site_` function is `function`, summed.
    private func atScan(_ process: ProcessHeap, _ function: String, _ exe: String) throws -> LiveCell {
        let functions = try Harness.functions(of: exe)
        guard let module = process.modules.first(where: { $0.path == process.executable }) else { throw HarnessError("no executable module") }
        var sum = LiveCell(stackID: 1, birthEpoch: 0, liveObjects: 0, liveBytes: 0)
        var found = 0
        for site in process.sites {
            let name = site.frames.lazy.compactMap { pc -> String? in
                guard module.contains(pc) else { return nil }
                let address = pc - 1 - module.loadBias
                return functions.first { address >= $0.start && address < $0.end && $0.name.contains("site_") }?.name
            }.first
            guard let name, name.contains(function), let cell = site.atScan else { continue }
            found += 1
            sum.liveObjects += cell.liveObjects; sum.liveBytes += cell.liveBytes
            sum.unreferencedObjects += cell.unreferencedObjects; sum.unreferencedBytes += cell.unreferencedBytes
        }
        guard found > 0 else { throw HarnessError("no site under \(function) has figures at the scan") }
        return sum
    }

    func testIntervalScansLeaveVerdictsThatSurviveSIGKILL() throws {
        let dir = try Harness.scratch()
        let (service, dumps, exe) = try startService(dir, ["SWHEAP_SCAN_INTERVAL": "0.3"])
        Thread.sleep(forTimeInterval: 2.5)
        service.child.send(SIGUSR1)
        try AttachHarness.waitForOutput(service, "sigchld ")
        XCTAssertTrue(service.standardOutputSoFar.contains("sigchld 0 reaped 0"), service.standardOutputSoFar)
        XCTAssertEqual(try String(contentsOfFile: "/proc/\(service.pid)/task/\(service.pid)/children", encoding: .utf8), "")
        try killed(service)

        let store = try HeapStore.load(directory: dumps)
        let process = try XCTUnwrap(store.processes.first)
        XCTAssertFalse(process.isFinal)
        let scan = try XCTUnwrap(process.scan, "no dump carries a scan")
        XCTAssertTrue(scan.foundVerdicts, "\(scan.record)")
        XCTAssertTrue(scan.record.isLive)
        XCTAssertFalse(scan.record.wasAsked)
        XCTAssertLessThanOrEqual(scan.record.pauseNs, scan.record.durationNs)

        let dropped = try atScan(process, "site_dropped", exe)
        let kept = try atScan(process, "site_kept", exe)
        let worker = try atScan(process, "site_worker", exe)
        let n = Double(Self.steps)
        XCTAssertEqual(dropped.liveBytes, n * 512)
        // Every dropped block but perhaps one whose address a register or stack slot still holds.
        XCTAssertGreaterThanOrEqual(dropped.unreferencedBytes, (n - 1) * 512)
        XCTAssertEqual(kept.liveBytes, n * 256)
        XCTAssertEqual(kept.unreferencedBytes, 0, "held by a global table")
        XCTAssertEqual(worker.liveBytes, 2 * 384)
        XCTAssertEqual(worker.unreferencedBytes, 0, "held by a worker's frame and its thread-local")

        // Who holds them: the global table by its symbol, the worker's block by its thread.
        let everySite = try AttachHarness.swheap(["report", "--json", "--all", dumps])
        let listed = try XCTUnwrap(((try JSONSerialization.jsonObject(with: Data(everySite.stdout.utf8)) as? [String: Any])?["processes"]
            as? [[String: Any]])?.first?["suspects"] as? [[String: Any]], everySite.stdout)
        func heldBy(_ site: String) throws -> [[String: Any]] {
            let entry = try XCTUnwrap(listed.first { $0["site"] as? String == site }, "\(site) listed")
            return try XCTUnwrap(entry["held_by"] as? [[String: Any]], "\(site): \(entry)")
        }
        let keptPath = try heldBy("site_kept")
        XCTAssertEqual(keptPath.count, 2, "kept -> the calloc'd table -> the block: \(keptPath)")
        XCTAssertEqual(keptPath[0]["kind"] as? String, "global")
        XCTAssertEqual(keptPath[0]["name"] as? String, "kept", "\(keptPath)")
        XCTAssertEqual(keptPath[0]["module"] as? String, "live_scan")
        XCTAssertEqual(keptPath[1]["kind"] as? String, "heap")
        XCTAssertGreaterThanOrEqual(keptPath[1]["size"] as? Int ?? 0, Self.steps * 8, "the table of STEPS pointers")
        let workerPath = try heldBy("site_worker")
        XCTAssertEqual(workerPath.count, 1, "\(workerPath)")
        XCTAssertTrue(["stack", "tls"].contains(workerPath[0]["kind"] as? String ?? ""), "\(workerPath)")
        XCTAssertNotEqual(workerPath[0]["thread"] as? Int, Int(service.pid), "the worker's, not the main thread's")
        let droppedEntry = try XCTUnwrap(listed.first { $0["site"] as? String == "site_dropped" })
        XCTAssertTrue(droppedEntry["held_by"] is NSNull, "nothing holds what is unreferenced: \(droppedEntry)")

        // The independent reader of FORMAT.md agrees: every dump since the scan carries it.
        let checker = Harness.fixtures.appendingPathComponent("v2check.py").path
        let checked = try Harness.run("python3", [checker, dumps], environment: [:])
        XCTAssertEqual(checked.status, 0, checked.stderr)
        let epochs = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [String: Any])?["epochs"]
            as? [[String: Any]])
        let carried = epochs.filter { ($0["epoch"] as? Int ?? 0) >= Int(scan.record.epoch) }
        XCTAssertFalse(carried.isEmpty)
        for epoch in carried {
            let record = try XCTUnwrap(epoch["scan"] as? [String: Any], "epoch \(epoch["epoch"] ?? "?") carries no SCAN")
            XCTAssertEqual(record["done"] as? Bool, true)
            XCTAssertGreaterThanOrEqual(record["epoch"] as? Int ?? 0, Int(scan.record.epoch) - 1)
        }

        // The report says where the figures come from.
        let report = try AttachHarness.swheap(["report", dumps])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("live scan: epoch \(scan.record.epoch)"), report.stdout)
        let leakLine = try XCTUnwrap(report.stdout.split(separator: "\n").first { $0.contains("site_dropped") && $0.contains("leaked-at-exit") },
                                     report.stdout)
        XCTAssertTrue(leakLine.contains("unreferenced at the live scan of epoch \(scan.record.epoch)"), String(leakLine))
        let json = try AttachHarness.swheap(["report", "--json", dumps])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let first = try XCTUnwrap((object?["processes"] as? [[String: Any]])?.first)
        let scanJSON = try XCTUnwrap(first["scan"] as? [String: Any])
        XCTAssertEqual(scanJSON["kind"] as? String, "live")
        XCTAssertEqual(scanJSON["verdicts"] as? Bool, true)
        XCTAssertEqual(first["scanned"] as? Bool, true)
        let html = dir.appendingPathComponent("report.html").path
        let rendered = try AttachHarness.swheap(["report", dumps, "--html", html])
        XCTAssertEqual(rendered.status, 0, rendered.stderr)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(page.contains("live scan: epoch \(scan.record.epoch)"), "the HTML says which scan")
        XCTAssertTrue(page.contains("held by global kept (live_scan) → "), "the HTML says who holds site_kept")

        // /metrics: the unreferenced bytes of the scan and when it ran, which promtool accepts.
        try Harness.requireTools(["curl", "promtool"])
        let (server, port) = try Harness.startServe(dumps)
        defer { server.child.send(SIGTERM); _ = try? server.wait(timeout: 30) }
        let metrics = try ProgramRunner.output("curl", ["-sf", "http://127.0.0.1:\(port)/metrics"])
        let unreferenced = try XCTUnwrap(metrics.split(separator: "\n").first {
            $0.hasPrefix("swheap_site_unreferenced_bytes{") && $0.contains(#"site="site_dropped""#)
        }, metrics)
        XCTAssertGreaterThanOrEqual(Double(unreferenced.split(separator: " ").last ?? "") ?? 0, (n - 1) * 512, String(unreferenced))
        let stamp = try XCTUnwrap(metrics.split(separator: "\n").first { $0.hasPrefix("swheap_scan_timestamp_seconds{") }, metrics)
        XCTAssertTrue(stamp.contains(#"kind="live""#), String(stamp))
        XCTAssertEqual(Double(stamp.split(separator: " ").last ?? "") ?? 0, Double(scan.record.wallNs) / 1e9, accuracy: 0.001)
        let file = dir.appendingPathComponent("metrics.txt")
        try metrics.write(to: file, atomically: true, encoding: .utf8)
        let check = try Harness.run("sh", ["-c", "promtool check metrics < \"$0\"", file.path], environment: [:])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
    }

    /// Asked once; then retention (SWHEAP_KEEP=4) removes the scan's own epoch file, and the
    /// later dumps still carry its verdicts.
    func testScanCommandAsksForAScanNowAndItsVerdictsOutliveRetention() throws {
        let dir = try Harness.scratch()
        let (service, dumps, _) = try startService(dir, ["SWHEAP_SCAN_INTERVAL": "0", "SWHEAP_KEEP": "4"])
        defer { try? killed(service) }
        let asked = try AttachHarness.swheap(["scan", String(service.pid)])
        XCTAssertEqual(asked.status, 0, asked.stderr)
        let line = asked.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(line.hasPrefix("scanned pid \(service.pid): threads paused "), line)
        XCTAssertTrue(line.hasSuffix("swheap report \(dumps)"), line)
        let epochText = try XCTUnwrap(line.range(of: #"epoch \d+"#, options: .regularExpression).map { line[$0].dropFirst(6) })
        // The dump that carries it is in place when the command returns.
        let store = try HeapStore.load(directory: dumps)
        let scan = try XCTUnwrap(store.processes.first?.scan)
        XCTAssertEqual(scan.record.epoch, UInt64(epochText))
        XCTAssertTrue(scan.record.wasAsked)
        XCTAssertTrue(scan.foundVerdicts)
        XCTAssertGreaterThanOrEqual(scan.unreferencedBytes, Double(Self.steps - 1) * 512)
        XCTAssertLessThanOrEqual(scan.unreferencedBytes, Double(Self.steps) * 512 + 1024)

        let scanFile = "\(service.pid).\(String(repeating: "0", count: max(0, 6 - epochText.count)))\(epochText).swheap"
        _ = try Harness.waitFor("retention to remove \(scanFile)", seconds: 30) { () -> Bool? in
            FileManager.default.fileExists(atPath: "\(dumps)/\(scanFile)") ? nil : true
        }
        try killed(service)
        let later = try XCTUnwrap(try HeapStore.load(directory: dumps).processes.first)
        XCTAssertNil(later.epochIndex(ofEpoch: scan.record.epoch), "\(scanFile) is gone")
        XCTAssertEqual(later.scan, store.processes.first?.scan, "every later dump carries the same scan")
        let report = try AttachHarness.swheap(["report", dumps])
        XCTAssertTrue(report.stdout.contains("unreferenced at the live scan of epoch \(scan.record.epoch)"), report.stdout)
    }

    func testScanCommandBadInput() throws {
        let dir = try Harness.scratch()
        // A process that is gone.
        let gone = try Harness.run("/bin/true", [], environment: [:])
        XCTAssertEqual(gone.status, 0)
        var result = try AttachHarness.swheap(["scan", "4194303"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "swheap: error: no process with pid 4194303\n")
        // A process not profiled.
        let plain = try ProgramRunner.start("/bin/sleep", ["30"], environment: ProgramRunner.environment())
        defer { plain.child.send(SIGKILL); _ = try? plain.wait(timeout: 10) }
        result = try AttachHarness.swheap(["scan", String(plain.pid)])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("is not profiled by swheap"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        // A profiled process with no writer thread to scan.
        let (quiet, _, _) = try startService(dir, ["SWHEAP_INTERVAL": "0"])
        defer { try? killed(quiet) }
        result = try AttachHarness.swheap(["scan", String(quiet.pid)])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("writes no periodic dumps (SWHEAP_INTERVAL=0)"), result.stderr)
        // Under a seccomp filter the process is never copied: the scan says why.
        let confinedDir = dir.appendingPathComponent("confined")
        try FileManager.default.createDirectory(at: confinedDir, withIntermediateDirectories: true)
        let (confined, confinedDumps, _) = try startService(confinedDir, ["SWHEAP_SCAN_INTERVAL": "0"], arguments: ["0", "seccomp"])
        defer { try? killed(confined) }
        result = try AttachHarness.swheap(["scan", String(confined.pid)])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "swheap: error: the scan of pid \(confined.pid) found no verdicts: the process runs under a "
                       + "seccomp filter, which may kill a process that forks, so it is not copied to scan live (the exit scan still runs)\n")
        XCTAssertTrue(confined.isRunning)
        let confinedScan = try XCTUnwrap(try HeapStore.load(directory: confinedDumps).processes.first?.scan)
        XCTAssertEqual(confinedScan.record.fallback, .seccomp)
        // Bad flags.
        result = try AttachHarness.swheap(["scan", "0"])
        XCTAssertNotEqual(result.status, 0)
        result = try AttachHarness.swheap(["run", "--scan-interval", "-1", "--", "/bin/true"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--scan-interval"), result.stderr)
    }

    /// A service started without swheap, attached: `swheap scan` scans it as it would one started
    /// under swheap; its leak (a list a global holds) is referenced; it runs on as before.
    func testAnAttachedServiceIsScannedOnDemand() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("attach_service.cpp", into: dir)
        let arguments = ["2500", "2000"]
        let expected = try Harness.run(exe, arguments, environment: [:]).stdout
        let dumps = dir.appendingPathComponent("dumps").path
        let service = try ProgramRunner.start(exe, arguments, environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(service, "iteration 100 ")
        let attach = try ProgramRunner.start(Harness.swheap, ["attach", String(service.pid), "--interval", "0.2", "--rate", "1",
                                                              "--scan-interval", "0", "--dir", dumps],
                                             environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(attach, "attached to pid")
        Thread.sleep(forTimeInterval: 0.5)
        let asked = try AttachHarness.swheap(["scan", String(service.pid)])
        XCTAssertEqual(asked.status, 0, asked.stderr)
        XCTAssertTrue(asked.stdout.hasPrefix("scanned pid \(service.pid): "), asked.stdout)
        let detach = try AttachHarness.swheap(["detach", String(service.pid)])
        XCTAssertEqual(detach.status, 0, detach.stderr)
        _ = try attach.wait(timeout: 30)
        let result = try service.wait(timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, expected, "the scanned run printed something else than the run without swheap")

        let process = try XCTUnwrap(try HeapStore.load(directory: dumps).processes.first { $0.pid == service.pid })
        XCTAssertNotNil(process.attach)
        let scan = try XCTUnwrap(process.scan)
        XCTAssertTrue(scan.foundVerdicts, "\(scan.record)")
        XCTAssertTrue(scan.record.wasAsked)
        let leak = try atScan(process, "site_leak", exe)
        XCTAssertGreaterThan(leak.liveBytes, 0)
        XCTAssertEqual(leak.unreferencedBytes, 0, "the leaked list hangs off a global")
    }
}
