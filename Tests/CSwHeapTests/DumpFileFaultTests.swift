// The dump files under faults a disk really produces (dumpfile.c through its I/O seam,
// sw_io): a full disk, interrupted and short writes, a failed rename or mkdir. An epoch file
// is either whole under its final name or absent, no temporary is left behind and no
// descriptor leaks.

import CSwHeap
import Glibc
import XCTest

/// What the faulty calls do; C function pointers capture nothing, so the plan is global.
private enum Fault {
    nonisolated(unsafe) static var writes: [(Int) -> Int] = [] // per call: bytes to accept, or -errno
    nonisolated(unsafe) static var renameErrno: Int32 = 0
    nonisolated(unsafe) static var mkdirErrno: Int32 = 0
    nonisolated(unsafe) static var calls = 0
}

private let faultyWrite: @convention(c) (Int32, UnsafeRawPointer?, Int) -> Int = { fd, bytes, len in
    Fault.calls += 1
    let plan = Fault.writes.isEmpty ? { $0 } : Fault.writes.removeFirst()
    let accept = plan(len)
    if accept < 0 {
        errno = Int32(-accept)
        return -1
    }
    return Glibc.write(fd, bytes, min(accept, len))
}

private let faultyRename: @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?) -> Int32 = {
    fromDir, from, toDir, to in
    guard let from, let to, Fault.renameErrno == 0 else {
        errno = Fault.renameErrno == 0 ? EFAULT : Fault.renameErrno
        return -1
    }
    return Glibc.renameat(fromDir, from, toDir, to)
}

private let faultyMkdir: @convention(c) (UnsafePointer<CChar>?, mode_t) -> Int32 = { path, mode in
    guard let path, Fault.mkdirErrno == 0 else {
        errno = Fault.mkdirErrno == 0 ? EFAULT : Fault.mkdirErrno
        return -1
    }
    return Glibc.mkdir(path, mode)
}

final class DumpFileFaultTests: XCTestCase {
    private let seam = sw_io_seam()!
    private var system = sw_io_calls()
    private var dir = ""
    private let bytes = [UInt8]((0..<1000).map { UInt8($0 % 251) })

    override func setUpWithError() throws {
        system = seam.pointee
        Fault.writes = []
        Fault.renameErrno = 0
        Fault.mkdirErrno = 0
        Fault.calls = 0
        seam.pointee.write = faultyWrite
        seam.pointee.rename = faultyRename
        seam.pointee.mkdir = faultyMkdir
        var template = Array((NSTemporaryDirectory() + "swheap-faults.XXXXXX").utf8CString)
        dir = String(cString: try XCTUnwrap(mkdtemp(&template)))
        XCTAssertTrue(sw_dumpfile_prepare(dir), "the directory dumps go to, held open")
    }

    override func tearDownWithError() throws {
        seam.pointee = system
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func write(epoch: UInt32 = 1) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { sw_dumpfile_write($0.baseAddress, $0.count, 42, epoch) }
        }
    }

    private func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).sorted() }

    private func openDescriptors() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }

    func testInterruptedAndShortWritesStillGiveTheWholeFile() throws {
        Fault.writes = [{ _ in -Int(EINTR) }] + Array(repeating: { _ in 7 }, count: 200)
        XCTAssertTrue(write())
        XCTAssertEqual(try files(), ["42.000001.swheap"])
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/42.000001.swheap"))), bytes)
        XCTAssertGreaterThan(Fault.calls, 100, "the short writes were taken as they came")
    }

    func testFullDiskLeavesNoFileAndNoDescriptor() throws {
        let before = try openDescriptors()
        Fault.writes = [{ _ in 100 }, { _ in -Int(ENOSPC) }]
        XCTAssertFalse(write())
        XCTAssertEqual(sw_dumpfile_error(), ENOSPC, "the cause is kept for the warning")
        XCTAssertEqual(try files(), [], "neither the epoch nor its temporary")
        XCTAssertEqual(try openDescriptors(), before)
    }

    func testWriteThatMakesNoProgressFails() throws {
        Fault.writes = [{ _ in 0 }]
        XCTAssertFalse(write())
        XCTAssertEqual(try files(), [])
    }

    func testFailedRenameRemovesTheTemporary() throws {
        Fault.renameErrno = EXDEV
        XCTAssertFalse(write())
        XCTAssertEqual(sw_dumpfile_error(), EXDEV)
        XCTAssertEqual(try files(), [])
        Fault.renameErrno = 0
        XCTAssertTrue(write(epoch: 2), "the next epoch is written as usual")
        XCTAssertEqual(try files(), ["42.000002.swheap"])
    }

    func testDirectoryThatCannotBeMadeIsRefused() throws {
        Fault.mkdirErrno = EACCES
        XCTAssertFalse(sw_dumpfile_prepare(dir + "/a/b"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/a"))
        Fault.mkdirErrno = 0
        XCTAssertTrue(sw_dumpfile_prepare(dir + "/a/b"))
    }

    /// The directory is held by descriptor: a program that closes it and gets the same number
    /// for a file of its own never has a dump written into that file.
    func testADescriptorTheProgramReusedIsNeverWrittenThrough() throws {
        let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { Int32($0) }
            .filter { fd in (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) == dir }
        let fd = try XCTUnwrap(held.first, "the directory is held open")
        close(fd)
        let theirs = open(dir + "/theirs", O_RDWR | O_CREAT, 0o600)
        XCTAssertGreaterThanOrEqual(theirs, 0)
        defer { close(theirs) }
        if theirs != fd { XCTAssertEqual(dup2(theirs, fd), fd) }
        XCTAssertTrue(write(), "reopened by its path, which still names the same directory")
        XCTAssertEqual(try files(), ["42.000001.swheap", "theirs"])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: dir + "/theirs")[.size] as? Int, 0)
        if theirs != fd { close(fd) }
    }
}
