// The one file reader and the one atomic writer.

import XCTest
@testable import SwHeapSystem
import SwHeapTestSupport

final class FileIOTests: XCTestCase {
    func testWriteAtomicallyThenReadBack() throws {
        let directory = try Scratch.directory(name)
        defer { Scratch.remove(directory) }
        let path = directory + "/data.bin"
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try FileIO.writeAtomically(bytes, to: path, temporaryName: ".data.tmp")
        XCTAssertEqual(try FileIO.read(path: path), bytes)
        XCTAssertEqual(try FileIO.read(path: path, limit: 10), Array(bytes.prefix(10)))
        // Replacing keeps one file and no temporary.
        try FileIO.writeAtomically([1, 2, 3], to: path, temporaryName: ".data.tmp", mode: 0o600)
        XCTAssertEqual(try FileIO.read(path: path), [1, 2, 3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["data.bin"])
        try FileIO.writeAtomically([], to: directory + "/empty", temporaryName: ".empty.tmp")
        XCTAssertEqual(try FileIO.read(path: directory + "/empty"), [])
    }

    func testErrorsNameThePathAndSayWhy() throws {
        let directory = try Scratch.directory(name)
        defer { Scratch.remove(directory) }
        XCTAssertThrowsError(try FileIO.read(path: directory + "/missing")) { error in
            XCTAssertEqual(error as? SystemError, SystemError(path: directory + "/missing", reason: "No such file or directory"))
        }
        XCTAssertThrowsError(try FileIO.read(path: directory)) { error in
            XCTAssertEqual((error as? SystemError)?.reason, "not a regular file")
        }
        XCTAssertThrowsError(try FileIO.writeAtomically([1], to: directory + "/no/such/file", temporaryName: ".t")) { error in
            XCTAssertEqual((error as? SystemError)?.path, directory + "/no/such/.t")
            XCTAssertEqual("\(error)", directory + "/no/such/.t: No such file or directory")
        }
    }

    func testDirectoryOfAPath() {
        XCTAssertEqual(FileIO.directory(of: "/a/b/c"), "/a/b/")
        XCTAssertEqual(FileIO.directory(of: "c"), "")
    }
}
