// Helpers for the encoder tests: reading records out of bytes, walking sections, inflating.

import CSwHeapFormat
import CZlib
import XCTest

struct FormatSection {
    var tag: UInt32, reserved: UInt32, body: [UInt8]
}

enum FormatBytes {
    static func read<T>(_ bytes: [UInt8], _ offset: Int, as: T.Type = T.self) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// The bytes of a value in memory (a record struct of swheap_format.h).
    static func bytes<T>(of value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    /// Byte strings one after the other (long `+` chains defeat the type checker).
    static func join(_ parts: [UInt8]...) -> [UInt8] { parts.flatMap { $0 } }

    static func u32(_ v: UInt32) -> [UInt8] { bytes(of: v.littleEndian) }
    static func u64(_ v: UInt64) -> [UInt8] { bytes(of: v.littleEndian) }

    /// A section as the format frames it: tag, reserved 0, u64 length, body.
    static func section(_ tag: UInt32, _ body: [UInt8]) -> [UInt8] {
        join(u32(tag), u32(0), u64(UInt64(body.count)), body)
    }

    /// Walks sections from `start`; every byte must belong to one.
    static func sections(_ bytes: [UInt8], from start: Int = 0) -> [FormatSection] {
        var result: [FormatSection] = []
        var at = start
        while at < bytes.count {
            let header: sw_format_section = read(bytes, at)
            at += Int(SW_FORMAT_SECTION_SIZE)
            let end = at + Int(header.length)
            XCTAssertLessThanOrEqual(end, bytes.count, "section \(header.tag) runs past the end")
            result.append(FormatSection(tag: header.tag, reserved: header.reserved, body: Array(bytes[at..<min(end, bytes.count)])))
            at = end
        }
        XCTAssertEqual(at, bytes.count)
        return result
    }

    /// Inflates one complete zlib stream with the Debian library; nil when it is not one.
    static func inflate(_ stream: [UInt8], expected: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: max(expected, 1))
        var length = uLongf(out.count)
        let status = stream.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                uncompress(output.baseAddress, &length, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK else { return nil }
        return Array(out[0..<Int(length)])
    }
}
