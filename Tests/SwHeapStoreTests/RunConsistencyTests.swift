// Files of one run (pid and start time) that disagree are one error naming both files:
// each field can be valid alone and still mix two runs' figures.

import XCTest
@testable import SwHeapDump
@testable import SwHeapStore
@testable import SwHeapSynth
@testable import SwHeapTestSupport

final class RunConsistencyTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try Scratch.directory(name) }
    override func tearDownWithError() throws { Scratch.remove(directory) }

    private func dump(epoch: UInt64, final: Bool = false, rate: UInt64 = 1, maxDepth: UInt32 = 64,
                      monotonic: UInt64? = nil) -> Dump {
        Dump(header: DumpHeader(isFinal: final, pid: 9, parentPID: 1, epoch: epoch, wallTimeNs: 1_000 + epoch,
                                monotonicNs: monotonic ?? 2_000 + epoch, startMonotonicNs: 1_000, rate: rate, maxDepth: maxDepth),
             executable: "/bin/app", commandLine: [], modules: [], stacks: [], live: [])
    }

    private func assertInconsistent(_ second: Dump, _ field: String, first: Dump? = nil, line: UInt = #line) throws {
        try DumpWriter.write(first ?? dump(epoch: 1), toDirectory: directory)
        let bad = try DumpWriter.write(second, toDirectory: directory)
        do throws(DumpError) {
            _ = try HeapStore.load(directory: directory)
            XCTFail("accepted files that disagree on \(field)", line: line)
        } catch {
            XCTAssertEqual(error.path, bad, line: line)
            guard case .inconsistent(let named, _, let other) = error.problem else { return XCTFail("\(error)", line: line) }
            XCTAssertTrue(named.hasPrefix(field), named, line: line)
            XCTAssertTrue(other.hasSuffix("9.000001.swheap"), other, line: line)
            XCTAssertFalse(error.description.contains("\n"), line: line)
        }
        Scratch.remove(directory)
        directory = try Scratch.directory(name)
    }

    func testOneRunAgreesWithItself() throws {
        try assertInconsistent(dump(epoch: 2, rate: 2), "rate")
        try assertInconsistent(dump(epoch: 2, maxDepth: 32), "max_depth")
        try assertInconsistent(dump(epoch: 2, monotonic: 1_500), "monotonic_ns")
        try assertInconsistent(dump(epoch: 2), "epoch", first: dump(epoch: 1, final: true))
    }

    func testAgreeingRunLoads() throws {
        try DumpWriter.write(dump(epoch: 1), toDirectory: directory)
        try DumpWriter.write(dump(epoch: 2, final: true), toDirectory: directory)
        XCTAssertEqual(try HeapStore.load(directory: directory).processes.first?.epochs.count, 2)
    }
}
