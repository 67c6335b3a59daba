// Fresh temporary directories for tests and benchmarks, one per use, under $TMPDIR/swheap-tests.

import Foundation

public enum Scratch {
    /// Creates and returns an empty directory whose name starts with the letters and digits of `name`.
    public static func directory(_ name: String) throws -> String {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "swheap-tests/\(clean)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Removes a directory made by `directory` and everything in it.
    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
