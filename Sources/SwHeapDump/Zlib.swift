// zlib through the Debian library, for everything swheap compresses: v2 dump bodies and log
// chunks (zlib streams, docs/FORMAT.md) and pprof files (gzip). Here, the lowest stage that
// needs it, so the dump reader, the outputs and the test writer share one implementation.
import CZlib
import SwHeapSystem

public enum ZlibError: SwHeapError, Equatable {
    case zlib(operation: String, code: Int32)
    case truncated
    case trailingBytes(Int)
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case let .zlib(operation, code):
            return "zlib \(operation) failed with code \(code) (out of memory or corrupt data)"
        case .truncated:
            return "compressed data ends before the end of its stream"
        case let .trailingBytes(count):
            return "\(count) bytes after the end of the compressed stream"
        case let .tooLarge(limit):
            return "inflates to more than \(limit) bytes"
        }
    }
}

public enum Zlib {
    public enum Wrapper: Sendable {
        /// RFC 1950: the v2 dump format's streams.
        case zlib
        /// RFC 1952: pprof files.
        case gzip

        /// windowBits 15, +16 for a gzip header and trailer.
        var windowBits: Int32 { self == .zlib ? 15 : 31 }
    }

    /// windowBits 15 + 32: inflate detects gzip or zlib headers.
    private static let autoDetectWindowBits: Int32 = 47
    private static let chunkSize = 64 * 1024

    public static func compress(_ input: UnsafeRawBufferPointer, wrapper: Wrapper, level: Int32 = 6) throws(ZlibError) -> [UInt8] {
        var stream = z_stream()
        let initCode = deflateInit2_(&stream, level, Z_DEFLATED, wrapper.windowBits, 8, Z_DEFAULT_STRATEGY,
                                     zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else { throw .zlib(operation: "deflateInit2", code: initCode) }
        defer { deflateEnd(&stream) }
        return try run(&stream, input: input, finishFlag: Z_FINISH, operation: "deflate", limit: .max) { deflate($0, $1) }
    }

    public static func compress(_ input: [UInt8], wrapper: Wrapper, level: Int32 = 6) throws(ZlibError) -> [UInt8] {
        let result: Result<[UInt8], ZlibError> = input.withUnsafeBytes { raw in
            Result { () throws(ZlibError) in try compress(raw, wrapper: wrapper, level: level) }
        }
        return try result.get()
    }

    /// Inflates one zlib or gzip stream that must fill `input` exactly and inflate to at most
    /// `limit` bytes (a corrupt or hostile length must not exhaust memory).
    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int = .max, sizeHint: Int = 0) throws(ZlibError) -> [UInt8] {
        var stream = z_stream()
        let initCode = inflateInit2_(&stream, autoDetectWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else { throw .zlib(operation: "inflateInit2", code: initCode) }
        defer { inflateEnd(&stream) }
        let output = try run(&stream, input: input, finishFlag: Z_NO_FLUSH, operation: "inflate", limit: limit,
                             sizeHint: sizeHint) { inflate($0, $1) }
        if stream.avail_in != 0 { throw .trailingBytes(Int(stream.avail_in)) }
        return output
    }

    public static func decompress(_ input: [UInt8], limit: Int = .max) throws(ZlibError) -> [UInt8] {
        let result: Result<[UInt8], ZlibError> = input.withUnsafeBytes { raw in
            Result { () throws(ZlibError) in try decompress(raw, limit: limit) }
        }
        return try result.get()
    }

    /// Feeds all of `input` and drains output in chunks until the stream ends.
    private static func run(_ stream: inout z_stream, input: UnsafeRawBufferPointer, finishFlag: Int32, operation: String,
                            limit: Int, sizeHint: Int = 0,
                            step: (UnsafeMutablePointer<z_stream>, Int32) -> Int32) throws(ZlibError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(min(sizeHint, limit))
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(input.count)
        while true {
            let (code, produced): (Int32, Int) = chunk.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                let code = step(&stream, finishFlag)
                return (code, outBuffer.count - Int(stream.avail_out))
            }
            if produced > limit - output.count { throw .tooLarge(limit: limit) }
            output.append(contentsOf: chunk[0..<produced])
            if code == Z_STREAM_END { return output }
            if code == Z_BUF_ERROR && stream.avail_in == 0 && produced == 0 { throw .truncated }
            if code != Z_OK && code != Z_BUF_ERROR { throw .zlib(operation: operation, code: code) }
        }
    }
}
