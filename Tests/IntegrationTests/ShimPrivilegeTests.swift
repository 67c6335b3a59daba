// A root master whose forked workers drop to another user (privdrop.c), as web servers,
// caches and databases run: the workers' dumps go to a per-user subdirectory handed over
// before the switch, every command reads the whole tree, root's dumps stay out of the
// workers' reach, and a worker that still cannot write is named in the report with the
// reason. These run only as root (CI does).

import Foundation
import SwHeapStore
import SwHeapTestSupport
import XCTest

final class ShimPrivilegeTests: XCTestCase {
    override func setUpWithError() throws {
        try Harness.requireBuild()
        guard geteuid() == 0 else {
            print("SKIPPED: not root, so no process can drop privileges")
            throw XCTSkip("needs root: the fixture's master runs as root and its workers switch to uid 65534")
        }
    }

    private func run(_ exe: String, _ arguments: [String], dumps: URL) throws -> RunResult {
        try Harness.run(exe, arguments, environment: ["SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0.05", "SWHEAP_DIR": dumps.path],
                        preload: true)
    }

    /// The pids of the fixture's workers, from its own output, by uid.
    private func workers(_ stdout: String) -> [(pid: Int32, uid: String)] {
        stdout.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count >= 5, words[1] == "worker", let pid = Int32(words[2]) else { return nil }
            return (pid, String(words[4].dropLast()))
        }
    }

    func testWorkersThatDropToNobodyAreProfiledAndTheirLeakReported() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("privdrop.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        let result = try run(exe, ["60", "65534", "65534"], dumps: dumps)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertFalse(result.stderr.contains("swheap:"), "nothing failed, so the shim says nothing: \(result.stderr)")
        let pids = workers(result.stdout).map(\.pid)
        XCTAssertEqual(pids.count, 2, result.stdout)

        // Where the files are, and who may read them.
        let base = try FileManager.default.attributesOfItem(atPath: dumps.path)
        XCTAssertEqual(base[.ownerAccountID] as? Int, 0)
        XCTAssertEqual((base[.posixPermissions] as? Int).map { $0 & 0o777 }, 0o700)
        let sub = dumps.appendingPathComponent("uid-65534")
        let subInfo = try FileManager.default.attributesOfItem(atPath: sub.path)
        XCTAssertEqual(subInfo[.ownerAccountID] as? Int, 65534, "handed over to the workers' user")
        XCTAssertEqual((subInfo[.posixPermissions] as? Int).map { $0 & 0o777 }, 0o700)
        let tree = try FileManager.default.subpathsOfDirectory(atPath: dumps.path)
        for path in tree {
            let mode = try FileManager.default.attributesOfItem(atPath: dumps.appendingPathComponent(path).path)[.posixPermissions] as? Int
            XCTAssertEqual((mode ?? 0o777) & 0o077, 0, "\(path) is open to group or others")
        }
        for pid in pids {
            XCTAssertTrue(tree.contains { $0.hasPrefix("uid-65534/\(pid).") && $0.hasSuffix(".swheap") }, "worker \(pid): \(tree)")
        }
        // Privacy: the workers' user cannot read root's dumps, nor list root's directory.
        let rootDump = try XCTUnwrap(tree.first { !$0.contains("/") && $0.hasSuffix(".swheap") })
        let asNobody = try Harness.run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "cat",
                                                   dumps.appendingPathComponent(rootDump).path], environment: [:])
        XCTAssertNotEqual(asNobody.status, 0, "uid 65534 read root's dump")
        XCTAssertTrue(asNobody.stderr.contains("Permission denied"), asNobody.stderr)

        // The whole tree: master and workers, each worker with its leak found.
        let store = try HeapStore.load(directory: dumps.path)
        XCTAssertEqual(Set(store.processes.map(\.pid)), Set(pids + [try XCTUnwrap(store.processes.first { !pids.contains($0.pid) }).pid]))
        XCTAssertEqual(store.processes.count, 3)
        XCTAssertEqual(store.silentProcesses, [])
        for pid in pids {
            let worker = try XCTUnwrap(store.process(pid: pid))
            XCTAssertTrue(worker.isFinal, "the worker's exit dump, written as uid 65534")
            XCTAssertEqual(worker.figuresBySite(functions: try Harness.functions(of: exe))["site_worker_leak"]?.liveObjects, 60)
        }
        let report = try Harness.run(Harness.swheap, ["report", dumps.path, "--json"], environment: [:])
        XCTAssertEqual(report.status, 0, report.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        let processes = try XCTUnwrap(json["processes"] as? [[String: Any]])
        XCTAssertEqual(processes.count, 3)
        for pid in pids {
            let worker = try XCTUnwrap(processes.first { ($0["pid"] as? Int).map(Int32.init) == pid })
            let suspects = try XCTUnwrap(worker["suspects"] as? [[String: Any]])
            let leak = try XCTUnwrap(suspects.first { ($0["site"] as? String)?.contains("site_worker_leak") == true },
                                     "worker \(pid): \(suspects.map { $0["site"] ?? "?" })")
            XCTAssertEqual(leak["verdict"] as? String, "growing")
        }
        let text = try Harness.run(Harness.swheap, ["report", dumps.path], environment: [:])
        XCTAssertEqual(text.status, 0, text.stderr)
        for pid in pids { XCTAssertTrue(text.stdout.contains("\(pid)"), text.stdout) }
        XCTAssertTrue(text.stdout.contains("site_worker_leak"), text.stdout)
    }

    func testAWorkerThatCannotWriteIsNamedWithTheReason() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("privdrop.c", into: dir)
        let dumps = dir.appendingPathComponent("dumps")
        // Someone else's directory where the worker's would go: the shim must refuse it.
        try FileManager.default.createDirectory(atPath: dumps.path, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        let planted = dumps.appendingPathComponent("uid-65533").path
        try FileManager.default.createDirectory(atPath: planted, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700, .ownerAccountID: 65532])
        let result = try run(exe, ["30", "65533"], dumps: dumps)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let pid = try XCTUnwrap(workers(result.stdout).first?.pid)
        // The worker says so once per cause, naming itself, the cause and what to change.
        let lines = result.stderr.split(separator: "\n").filter { $0.contains("pid \(pid) (privdrop)") }
        XCTAssertEqual(lines.count, 2, result.stderr)
        XCTAssertTrue(lines[0].contains("Operation not permitted (errno 1)") && lines[0].contains("belongs to uid 65532"), "\(lines[0])")
        XCTAssertTrue(lines[1].contains("uid 65533") && lines[1].contains("Permission denied (errno 13)"), "\(lines[1])")
        XCTAssertEqual(result.stderr.components(separatedBy: "cannot write a dump").count, 2, "once, not per epoch")

        let store = try HeapStore.load(directory: dumps.path)
        XCTAssertEqual(store.silentProcesses.map(\.note.pid), [pid])
        let report = try Harness.run(Harness.swheap, ["report", dumps.path], environment: [:])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("1 process(es) started under swheap but left no dump"), report.stdout)
        let line = try XCTUnwrap(report.stdout.split(separator: "\n").first { $0.contains("pid \(pid) (privdrop)") })
        XCTAssertTrue(line.contains("to uid 65533"), String(line))
        XCTAssertTrue(line.contains("belongs to uid 65532, not 65533: remove it"), String(line))
        XCTAssertTrue(line.contains("errno 13 as uid 65533"), String(line))
        let json = try Harness.run(Harness.swheap, ["report", dumps.path, "--json"], environment: [:])
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let silent = try XCTUnwrap(document["silent_processes"] as? [[String: Any]])
        XCTAssertEqual(silent.compactMap { $0["pid"] as? Int }, [Int(pid)])
        XCTAssertEqual(silent.first?["to_uid"] as? Int, 65533)
        try assertServeListsSilent(pid: pid, dumps: dumps)
    }

    /// `swheap serve` lists it too: a `swheap_silent_process` series (which promtool accepts)
    /// and a line above the processes of the page.
    private func assertServeListsSilent(pid: Int32, dumps: URL) throws {
        try Harness.requireTools(["curl"])
        let serve = try Harness.startServe(dumps.path)
        let port = serve.port
        let metrics = try ProgramRunner.output("curl", ["-sf", "http://127.0.0.1:\(port)/metrics"])
        let series = metrics.split(separator: "\n").filter { $0.hasPrefix("swheap_silent_process{") }
        XCTAssertEqual(series.count, 1, metrics)
        XCTAssertTrue(series.first.map { $0.contains("pid=\"\(pid)\"") && $0.contains("uid=\"65533\"") && ($0.hasSuffix(" 1") || $0.hasSuffix(" 1.0")) } ?? false,
                      "\(series)")
        if ProgramRunner.exists("promtool") {
            let file = dumps.deletingLastPathComponent().appendingPathComponent("metrics.txt").path
            try metrics.write(toFile: file, atomically: true, encoding: .utf8)
            let check = try Harness.run("sh", ["-c", "promtool check metrics < \"$0\"", file], environment: [:])
            XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        }
        let page = try ProgramRunner.output("curl", ["-sf", "http://127.0.0.1:\(port)/"])
        XCTAssertTrue(page.contains("1 process(es) started under swheap but left no dump"), page)
        XCTAssertTrue(page.contains("pid \(pid) (privdrop)"), page)
        XCTAssertTrue(serve.server.isRunning, "swheap serve stopped: \(serve.server.standardErrorSoFar)")
    }
}
