// Decodes one dump file (docs/FORMAT.md) into a `Dump`.
// Every read is bounds-checked against the bytes that remain, so any input — truncated,
// bit-flipped or hostile — gives a `DumpError` and never a crash. Parsing works on raw
// memory with unaligned little-endian loads because large profiles have millions of frames.

import SwHeapSystem

public enum DumpReader {
    /// Reads and decodes the file at `path`; a v2 file with the log it names (in the same
    /// directory) up to the length it names, so the result stands alone like a v1 file.
    public static func read(path: String) throws(DumpError) -> Dump {
        let file = try readFile(path: path)
        let dump = try decode(file, path: path)
        guard let reference = dump.log else { return dump }
        var log = StackLog(path: logPath(reference, besideFile: path))
        try log.advance(through: reference.length)
        return try log.dump(for: dump, path: path)
    }

    /// Reads and decodes one file without its log (v2 files name theirs in `Dump.log`).
    public static func readFileOnly(path: String) throws(DumpError) -> Dump {
        try decode(readFile(path: path), path: path)
    }

    /// The path of the log `reference` names, in the directory of the epoch file at `path`.
    public static func logPath(_ reference: LogReference, besideFile path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return reference.name }
        return String(path[...slash]) + reference.name
    }

    /// Decodes the bytes of one dump; `path` only names the file in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(DumpError) -> Dump {
        let result: Result<Dump, DumpError> = bytes.withUnsafeBytes { raw in
            do throws(DumpError) { return .success(try decode(raw, path: path)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Decodes a dump from memory the caller owns (a mapped file, `Data.withUnsafeBytes`).
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(DumpError) -> Dump {
        var parser = DumpParser(bytes, path: path)
        return try parser.parseDump()
    }

    /// Reads only the fixed header (for listing without decoding whole files).
    static func decodeHeader(_ bytes: [UInt8], path: String) throws(DumpError) -> DumpHeader {
        let result: Result<DumpHeader, DumpError> = bytes.withUnsafeBytes { raw in
            var parser = DumpParser(raw, path: path)
            do throws(DumpError) { return .success(try parser.parseHeader()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Reads and decodes only the fixed header of the file at `path`.
    public static func readHeader(path: String) throws(DumpError) -> DumpHeader {
        try decodeHeader(readFile(path: path, limit: DumpLayout.headerSize), path: path)
    }

    /// Whole-file (or first `limit` bytes) read, any failure as a DumpError naming the file.
    static func readFile(path: String, limit: Int = .max) throws(DumpError) -> [UInt8] {
        do throws(SystemError) { return try FileIO.read(path: path, limit: limit) } catch {
            throw DumpError(path: error.path, problem: .unreadable(reason: error.reason))
        }
    }
}
