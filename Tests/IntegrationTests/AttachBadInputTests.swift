// Every bad input to `swheap attach` gets one line saying why and what to change, a non-zero
// exit, and leaves the target untouched. Tests that need another user or fewer capabilities
// than root's run as root only (CI) and skip otherwise.

import Foundation
import SwHeapTestSupport
import XCTest

final class AttachBadInputTests: XCTestCase {
    override func setUpWithError() throws { try AttachHarness.require() }

    /// Runs `swheap attach ARGS` (through `prefix`, e.g. setpriv) and checks the one-line error.
    @discardableResult
    private func assertRefused(_ arguments: [String], prefix: [String] = [], environment: [String: String] = [:],
                               saying expected: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let command = prefix.isEmpty ? Harness.swheap : prefix[0]
        let args = prefix.isEmpty ? arguments : Array(prefix.dropFirst()) + [Harness.swheap] + arguments
        let result = try Harness.run(command, args, environment: environment)
        XCTAssertNotEqual(result.status, 0, "accepted: \(result.stdout)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "not one line: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("swheap: error: "), result.stderr, file: file, line: line)
        for text in expected {
            XCTAssertTrue(result.stderr.contains(text), "\"\(text)\" not in: \(result.stderr)", file: file, line: line)
        }
        return result.stderr
    }

    private func requireRoot() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root: runs processes as another user") }
    }

    /// A running fixture service, as `user` (via setpriv) when given.
    private func service(_ dir: URL, _ extra: [String] = [], asNobody: Bool = false) throws -> RunningProgram {
        let exe = try Harness.compile("attach_service.cpp", into: dir)
        chmod(dir.path, 0o755)
        let arguments = ["100000", "2000"] + extra
        let program = asNobody
            ? try ProgramRunner.start("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", exe] + arguments,
                                      environment: ProgramRunner.environment())
            : try ProgramRunner.start(exe, arguments, environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(program, "iteration 0 ")
        return program
    }

    /// The target was not touched: not traced, libswheap not loaded, still running.
    private func assertUntouched(_ program: RunningProgram, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(program.isRunning, "the target stopped running", file: file, line: line)
        let maps = (try? String(contentsOfFile: "/proc/\(program.pid)/maps", encoding: .utf8)) ?? ""
        XCTAssertFalse(maps.contains("libswheap"), "libswheap.so was loaded", file: file, line: line)
        let status = (try? String(contentsOfFile: "/proc/\(program.pid)/status", encoding: .utf8)) ?? ""
        XCTAssertTrue(status.contains("TracerPid:\t0"), "still traced", file: file, line: line)
    }

    func testNoSuchProcess() throws {
        try assertRefused(["attach", "99999999"], saying: ["no process with pid 99999999"])
        try assertRefused(["detach", "99999999"], saying: ["no process with pid 99999999"])
    }

    func testBadOptions() throws {
        let bad = try Harness.run(Harness.swheap, ["attach", "1", "--for", "soon"], environment: [:])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--for must be a duration"), bad.stderr)
        let zero = try Harness.run(Harness.swheap, ["attach", "0"], environment: [:])
        XCTAssertNotEqual(zero.status, 0)
    }

    func testAnotherUsersProcess() throws {
        try requireRoot()
        let program = try service(try Harness.scratch())
        try assertRefused(["attach", String(program.pid)], prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
                          saying: ["belongs to root (uid 0)", "swheap runs as nobody (uid 65534)", "run swheap attach as that user or as root"])
        try assertUntouched(program)
    }

    func testRootWithoutCapSysPtrace() throws {
        try requireRoot()
        let program = try service(try Harness.scratch(), asNobody: true)
        try assertRefused(["attach", String(program.pid)],
                          prefix: ["setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace"],
                          saying: ["without CAP_SYS_PTRACE", "--cap-add=SYS_PTRACE"])
        try assertUntouched(program)
    }

    /// This kernel may have no Yama: the message is checked against a ptrace_scope file of the
    /// test's (SWHEAP_ATTACH_YAMA_FILE), with a ptrace refused for real by a non-dumpable target.
    func testYamaPtraceScope() throws {
        try requireRoot()
        let dir = try Harness.scratch()
        let program = try service(dir, ["nodump"], asNobody: true)
        let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let scope = dir.appendingPathComponent("ptrace_scope").path
        for (value, text) in [("1", "kernel.yama.ptrace_scope is 1"), ("2", "kernel.yama.ptrace_scope is 2"), ("3", "is 3 until reboot")] {
            try value.write(toFile: scope, atomically: true, encoding: .utf8)
            chmod(scope, 0o644)
            try assertRefused(["attach", String(program.pid)], prefix: nobody, environment: ["SWHEAP_ATTACH_YAMA_FILE": scope],
                              saying: [text])
        }
        try "0".write(toFile: scope, atomically: true, encoding: .utf8)
        try assertRefused(["attach", String(program.pid)], prefix: nobody, environment: ["SWHEAP_ATTACH_YAMA_FILE": scope],
                          saying: ["not dumpable"])
        try assertUntouched(program)
    }

    func testAlreadyProfiledByPreload() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("attach_service.cpp", into: dir)
        let program = try ProgramRunner.start(exe, ["100000", "2000"], environment: ProgramRunner.environment(
            ["SWHEAP_DIR": dir.appendingPathComponent("preloaded").path], preload: Harness.shim))
        try AttachHarness.waitForOutput(program, "iteration 0 ")
        try assertRefused(["attach", String(program.pid)], saying: ["already profiled by swheap", "preloaded"])
        try assertRefused(["detach", String(program.pid)], saying: ["preloaded", "profiled until it exits"])
        XCTAssertTrue(program.isRunning)
    }

    func testAlreadyAttached() throws {
        let dir = try Harness.scratch()
        let program = try service(dir)
        let dumps = dir.appendingPathComponent("dumps").path
        let first = try ProgramRunner.start(Harness.swheap, ["attach", String(program.pid), "--dir", dumps],
                                            environment: ProgramRunner.environment())
        try AttachHarness.waitForOutput(first, "attached to pid")
        try assertRefused(["attach", String(program.pid)], saying: ["already profiled by swheap", "attached earlier", "swheap detach"])
        first.child.send(SIGINT)
        XCTAssertEqual(try first.wait(timeout: 30).status, 0)
        try assertRefused(["detach", String(program.pid)], saying: ["is not attached"])
    }

    func testNeverAttachedProcessCannotBeDetached() throws {
        let program = try service(try Harness.scratch())
        try assertRefused(["detach", String(program.pid)], saying: ["not profiled by swheap"])
        try assertUntouched(program)
    }

    func testStaticallyLinked() throws {
        let dir = try Harness.scratch()
        let exe = try Harness.compile("idle.c", into: dir, extraFlags: ["-static"])
        let program = try ProgramRunner.start(exe, ["30"], environment: ProgramRunner.environment())
        Thread.sleep(forTimeInterval: 0.2)
        try assertRefused(["attach", String(program.pid)], saying: ["statically linked", "dynamically linked glibc"])
        try assertUntouched(program)
    }

    /// A 32-bit program, assembled here (no 32-bit C library needed).
    func testThirtyTwoBit() throws {
        let dir = try Harness.scratch()
        let source = dir.appendingPathComponent("sleep32.s").path
        try """
            .globl _start
            _start:
                movl $162, %eax
                movl $ts, %ebx
                xorl %ecx, %ecx
                int $0x80
                jmp _start
            .data
            ts: .long 1, 0
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let object = dir.appendingPathComponent("sleep32.o").path, exe = dir.appendingPathComponent("sleep32").path
        guard try Harness.run("as", ["--32", source, "-o", object], environment: [:]).status == 0,
              try Harness.run("ld", ["-m", "elf_i386", object, "-o", exe], environment: [:]).status == 0 else {
            throw XCTSkip("cannot assemble a 32-bit program here")
        }
        let program = try ProgramRunner.start(exe, [], environment: ProgramRunner.environment())
        Thread.sleep(forTimeInterval: 0.2)
        guard program.isRunning else { throw XCTSkip("this kernel runs no 32-bit programs") }
        try assertRefused(["attach", String(program.pid)], saying: ["32-bit program"])
        try assertUntouched(program)
    }

    func testThreadIDIsNotAProcess() throws {
        let program = try service(try Harness.scratch())
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(program.pid)/task").compactMap(Int32.init)
        let thread = try XCTUnwrap(tasks.first { $0 != program.pid })
        try assertRefused(["attach", String(thread)], saying: ["is a thread of process \(program.pid)"])
        try assertUntouched(program)
    }

    /// The target exits while the injector holds one of its threads: a clean one-line end.
    func testTargetExitsDuringAttach() throws {
        let dir = try Harness.scratch()
        let program = try service(dir)
        let attach = try ProgramRunner.start(Harness.swheap, ["attach", String(program.pid), "--dir", dir.appendingPathComponent("d").path],
                                             environment: ProgramRunner.environment(["SWHEAP_ATTACH_PAUSE_AT": "1"]))
        // Any of its threads: the injector borrows whichever is at a safe point first.
        func traced() -> Bool {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(program.pid)/task")) ?? []
            return tasks.contains { task in
                let status = (try? String(contentsOfFile: "/proc/\(program.pid)/task/\(task)/status", encoding: .utf8)) ?? ""
                return status.contains("TracerPid:") && !status.contains("TracerPid:\t0")
            }
        }
        let deadline = Date().addingTimeInterval(10)
        while !traced() && Date() < deadline { Thread.sleep(forTimeInterval: 0.002) }
        XCTAssertTrue(traced(), "the injector never stopped a thread")
        program.child.send(SIGKILL)
        let result = try attach.wait(timeout: 30)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("exited during attach"), result.stderr)
    }

    /// Libraries with initial-exec TLS loaded first use up glibc's static TLS room: the
    /// shim cannot be loaded, and the message says so and what to change.
    func testNoStaticTLSLeft() throws {
        let dir = try Harness.scratch()
        var libraries: [String] = []
        for size in [1024, 512, 128] {
            let source = dir.appendingPathComponent("tls\(size).c").path, library = dir.appendingPathComponent("libtls\(size).so").path
            try "__thread char block[\(size)] __attribute__((tls_model(\"initial-exec\")));\nchar *get\(size)(void) { return block; }\n"
                .write(toFile: source, atomically: true, encoding: .utf8)
            let built = try Harness.run("cc", ["-shared", "-fPIC", source, "-o", library], environment: [:])
            XCTAssertEqual(built.status, 0, built.stderr)
            libraries.append("tls:" + library)
        }
        let program = try service(dir, libraries)
        let message = try assertRefused(["attach", String(program.pid), "--dir", dir.appendingPathComponent("d").path],
                                        saying: ["static TLS", "GLIBC_TUNABLES=glibc.rtld.optional_static_tls"])
        XCTAssertTrue(message.contains("cannot load"), message)
        XCTAssertFalse(program.standardOutputSoFar.contains("dlopen failed"), "every library of the fixture loaded")
        try assertUntouched(program)
    }
}
