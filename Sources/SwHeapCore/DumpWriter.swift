// Encodes a `Dump` into the bytes of a dump file (docs/FORMAT.md), exactly as the shim would.
// Tests, benchmarks and fixture generators use it; swheap itself never writes dumps.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum DumpWriter {
    /// A section the writer appends verbatim after the known ones (to test unknown tags).
    public struct ExtraSection: Sendable {
        public var tag: UInt32
        public var body: [UInt8]
        public init(tag: UInt32, body: [UInt8]) { self.tag = tag; self.body = body }
    }

    /// The file bytes for `dump`; `extraSections` go just before END.
    public static func encode(_ dump: Dump, extraSections: [ExtraSection] = []) -> [UInt8] {
        var out = ByteSink()
        out.reserve(estimatedSize(dump))
        writeHeader(dump.header, to: &out)

        out.section(.exe) { $0.string(dump.executable) }
        out.section(.cmdline) { body in
            for argument in dump.commandLine {
                body.raw(Array(argument.utf8))
                body.u8(0)
            }
        }
        out.section(.modules) { body in
            body.u32(UInt32(dump.modules.count))
            for module in dump.modules {
                body.u64(module.loadBias)
                body.string(module.path)
                body.u32(UInt32(module.buildID.count))
                body.raw(module.buildID)
                body.u32(UInt32(module.segments.count))
                for segment in module.segments {
                    body.u64(segment.start); body.u64(segment.end); body.u64(segment.fileOffset)
                    body.u32(segment.flags); body.u32(0)
                }
            }
        }
        out.section(.stacks) { body in
            body.u32(UInt32(dump.stacks.count))
            for stack in dump.stacks {
                body.u32(stack.id)
                body.u32(UInt32(stack.frames.count))
                body.f64(stack.allocObjects)
                body.f64(stack.allocBytes)
                for frame in stack.frames { body.u64(frame) }
            }
        }
        out.section(.live) { body in
            body.u32(UInt32(dump.live.count))
            for bucket in dump.live {
                body.u32(bucket.stackID); body.u32(bucket.birthEpoch)
                body.f64(bucket.liveObjects); body.f64(bucket.liveBytes)
                body.f64(bucket.unreferencedObjects); body.f64(bucket.unreferencedBytes)
            }
        }
        for extra in extraSections {
            out.sectionHeader(tag: extra.tag, length: UInt64(extra.body.count))
            out.raw(extra.body)
        }
        out.section(.end) { _ in }
        return out.bytes
    }

    /// `<pid>.<epoch>.swheap` with the epoch zero-padded to 6 digits.
    public static func fileName(pid: Int32, epoch: UInt64) -> String {
        let digits = String(epoch)
        return "\(pid)." + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".swheap"
    }

    /// Writes `dump` into `directory` the way the shim does (temporary name, then rename)
    /// and returns the path of the file.
    @discardableResult
    public static func write(_ dump: Dump, toDirectory directory: String) throws(DumpError) -> String {
        let name = fileName(pid: dump.header.pid, epoch: dump.header.epoch)
        let path = directory + "/" + name
        let temporary = directory + "/.\(dump.header.pid).\(dump.header.epoch).tmp"
        let bytes = encode(dump)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { throw DumpError(path: temporary, problem: .unwritable(reason: errnoText())) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errnoText()
                close(fd); unlink(temporary)
                throw DumpError(path: temporary, problem: .unwritable(reason: reason))
            }
            written += n
        }
        close(fd)
        if rename(temporary, path) != 0 {
            let reason = errnoText()
            unlink(temporary)
            throw DumpError(path: path, problem: .unwritable(reason: reason))
        }
        return path
    }

    static func writeHeader(_ header: DumpHeader, to out: inout ByteSink) {
        out.raw(DumpLayout.magic)
        out.u32(header.version)
        var flags: UInt32 = 0
        if header.isFinal { flags |= DumpLayout.flagFinal }
        if header.isScanned { flags |= DumpLayout.flagScanned }
        if header.isTruncated { flags |= DumpLayout.flagTruncated }
        out.u32(flags)
        out.u32(UInt32(bitPattern: header.pid))
        out.u32(UInt32(bitPattern: header.parentPID))
        out.u64(header.epoch)
        out.u64(header.wallTimeNs)
        out.u64(header.monotonicNs)
        out.u64(header.startMonotonicNs)
        out.u64(header.rate)
        out.u32(header.maxDepth)
        out.u32(0)
    }

    private static func estimatedSize(_ dump: Dump) -> Int {
        let frames = dump.stacks.reduce(0) { $0 + $1.frames.count }
        return DumpLayout.headerSize + 6 * DumpLayout.sectionHeaderSize + 4096
            + dump.stacks.count * 24 + frames * 8 + dump.live.count * 40
    }
}

private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// Little-endian byte output with length-prefixed sections.
struct ByteSink {
    var bytes: [UInt8] = []

    mutating func reserve(_ n: Int) { bytes.reserveCapacity(n) }
    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func raw(_ values: [UInt8]) { bytes.append(contentsOf: values) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f64(_ value: Double) { u64(value.bitPattern) }
    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        u32(UInt32(utf8.count))
        raw(utf8)
    }

    mutating func sectionHeader(tag: UInt32, length: UInt64) {
        u32(tag); u32(0); u64(length)
    }

    /// Writes a section header with a placeholder length, the body, then patches the length.
    mutating func section(_ tag: DumpLayout.Tag, body: (inout ByteSink) -> Void) {
        sectionHeader(tag: tag.rawValue, length: 0)
        let start = bytes.count
        body(&self)
        let length = UInt64(bytes.count - start).littleEndian
        withUnsafeBytes(of: length) { raw in
            for i in 0..<8 { bytes[start - 8 + i] = raw[i] }
        }
    }
}
