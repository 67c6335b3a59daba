// Writes the v2 files of one process image the way the shim does (docs/FORMAT.md): for each
// dump, first the stack log's chunk (stacks new since the previous chunk, the module list when
// it changed, ALLOC for stacks whose cumulative figures changed), then the epoch file naming
// the log's length, under a temporary name renamed into place.

import CSwHeapFormat
import SwHeapDump
import SwHeapSystem

#if canImport(Glibc)
import Glibc
#endif

public struct LoggedDumpWriter {
    public let directory: String
    public let deflated: Bool
    /// `<pid>.<first6>.log`, set by the first dump.
    public private(set) var logName: String?
    public private(set) var logLength: UInt64 = 0
    private var loggedStacks = Set<UInt32>()
    private var loggedAlloc: [UInt32: (objects: Double, bytes: Double)] = [:]
    private var loggedModules: [Module]?

    public init(directory: String, deflated: Bool = true) {
        self.directory = directory
        self.deflated = deflated
    }

    /// The chunk for `dump`, then its epoch file; returns the epoch file's path.
    @discardableResult
    public mutating func write(_ dump: Dump, extraSections: [DumpWriter.ExtraSection] = []) throws(DumpError) -> String {
        let name = logName ?? "\(dump.header.pid).\(Self.sixDigits(dump.header.epoch)).log"
        let logPath = directory + "/" + name
        var bytes: [UInt8] = []
        if logName == nil {
            var header = RawLogHeader()
            withUnsafeMutableBytes(of: &header.magic) { $0.copyBytes(from: DumpLayout.logMagic) }
            header.version = DumpLayout.logVersion
            header.pid = UInt32(bitPattern: dump.header.pid)
            header.start_ns = dump.header.startMonotonicNs
            withUnsafeBytes(of: header) { bytes.append(contentsOf: $0) }
        }
        bytes += chunk(for: dump)
        try append(bytes, to: logPath)
        logName = name
        logLength += UInt64(bytes.count)
        let path = directory + "/" + DumpWriter.fileName(pid: dump.header.pid, epoch: dump.header.epoch)
        let file = DumpWriter.encodeEpoch(dump, log: LogReference(name: name, length: logLength), deflated: deflated,
                                          extraSections: extraSections)
        do throws(SystemError) {
            try FileIO.writeAtomically(file, to: path, temporaryName: ".\(dump.header.pid).\(dump.header.epoch).tmp", mode: 0o600)
        } catch {
            throw DumpError(path: error.path, problem: .unwritable(reason: error.reason))
        }
        return path
    }

    /// The chunk header and body for `dump`, advancing what the log holds.
    private mutating func chunk(for dump: Dump) -> [UInt8] {
        var body = ByteSink()
        let new = dump.stacks.filter { !loggedStacks.contains($0.id) }
        body.section(.stacks) { section in
            section.u32(UInt32(new.count))
            for stack in new {
                section.record(RawStackFrames(stack_id: stack.id, depth: UInt32(stack.frames.count)))
                for frame in stack.frames { section.u64(frame) }
            }
        }
        if loggedModules != dump.modules {
            body.section(.modules) { DumpWriter.writeModules(dump.modules, to: &$0) }
        }
        let changed = dump.stacks.filter { stack in
            loggedAlloc[stack.id].map { $0.objects != stack.allocObjects || $0.bytes != stack.allocBytes }
                ?? (stack.allocObjects != 0 || stack.allocBytes != 0)
        }
        body.section(.alloc) { section in
            section.u32(UInt32(changed.count))
            for stack in changed {
                section.record(RawAlloc(stack_id: stack.id, reserved: 0, alloc_objects: stack.allocObjects,
                                        alloc_bytes: stack.allocBytes))
            }
        }
        body.section(.end) { _ in }
        for stack in new { loggedStacks.insert(stack.id) }
        for stack in changed { loggedAlloc[stack.id] = (stack.allocObjects, stack.allocBytes) }
        loggedModules = dump.modules
        let stored = deflated ? DumpWriter.deflate(body.bytes) : body.bytes
        var out = ByteSink()
        out.record(RawLogChunk(epoch: UInt32(dump.header.epoch), flags: deflated ? DumpLayout.logFlagDeflated : 0,
                               raw_length: UInt64(body.bytes.count), stored_length: UInt64(stored.count)))
        out.raw(stored)
        return out.bytes
    }

    private func append(_ bytes: [UInt8], to path: String) throws(DumpError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DumpError(path: path, problem: .unwritable(reason: errnoText())) }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw DumpError(path: path, problem: .unwritable(reason: errnoText())) }
            written += n
        }
    }

    static func sixDigits(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}
