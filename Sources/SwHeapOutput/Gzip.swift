// gzip (RFC 1952) through zlib: pprof files are conventionally gzip-compressed protobuf.
import CZlib
import SwHeapSystem

enum GzipError: SwHeapError, Equatable {
    case zlib(operation: String, code: Int32)
    case truncated

    public var description: String {
        switch self {
        case let .zlib(operation, code):
            return "zlib \(operation) failed with code \(code) (out of memory or corrupt data)"
        case .truncated:
            return "gzip data ends before the end of its stream"
        }
    }
}

enum Gzip {
    /// windowBits 15 + 16: zlib writes a gzip header and trailer instead of a zlib one.
    private static let gzipWindowBits: Int32 = 31
    /// windowBits 15 + 32: inflate detects gzip or zlib headers.
    private static let autoDetectWindowBits: Int32 = 47
    private static let chunkSize = 64 * 1024

    static func compress(_ input: [UInt8], level: Int32 = 6) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        let initCode = deflateInit2_(&stream, level, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY,
                                     zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else { throw .zlib(operation: "deflateInit2", code: initCode) }
        defer { deflateEnd(&stream) }
        return try run(&stream, input: input, finishFlag: Z_FINISH, operation: "deflate") { deflate($0, $1) }
    }

    static func decompress(_ input: [UInt8]) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        let initCode = inflateInit2_(&stream, autoDetectWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else { throw .zlib(operation: "inflateInit2", code: initCode) }
        defer { inflateEnd(&stream) }
        return try run(&stream, input: input, finishFlag: Z_NO_FLUSH, operation: "inflate") { inflate($0, $1) }
    }

    /// Feeds all of `input` and drains output in chunks until the stream ends.
    private static func run(_ stream: inout z_stream, input: [UInt8], finishFlag: Int32, operation: String,
                            step: (UnsafeMutablePointer<z_stream>, Int32) -> Int32) throws(GzipError) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var input = input
        let result: Result<Void, GzipError> = input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = UInt32(inBuffer.count)
            while true {
                let (code, produced): (Int32, Int) = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = UInt32(outBuffer.count)
                    let code = step(&stream, finishFlag)
                    return (code, outBuffer.count - Int(stream.avail_out))
                }
                output.append(contentsOf: chunk[0..<produced])
                if code == Z_STREAM_END { return .success(()) }
                if code == Z_BUF_ERROR && stream.avail_in == 0 && produced == 0 { return .failure(.truncated) }
                if code != Z_OK && code != Z_BUF_ERROR { return .failure(.zlib(operation: operation, code: code)) }
            }
        }
        try result.get()
        return output
    }
}
