// A v2 stack log (docs/FORMAT.md), replayed: the stacks, modules and cumulative allocation of
// one process image as of some length of its log. Replay only moves forward, so a loader
// reads the log once for all of its epochs and a watcher reads only the chunks added since.
// Chunks up to a length an epoch file names must be whole and valid; what lies beyond every
// named length (a torn chunk of a writer that died, or a stale failed one) is never looked at.

import SwHeapSystem

public struct StackLog: Sendable {
    /// The log file, for error messages and reading.
    public let path: String
    public private(set) var pid: Int32 = 0
    public private(set) var startNs: UInt64 = 0
    /// The module list of the last chunk that had one.
    public private(set) var modules: [Module] = []
    /// Every stack logged so far, in log order, with its cumulative allocation.
    public private(set) var stacks: [StackRecord] = []
    private var index = StackPositions()
    /// Bytes replayed: the header and whole chunks.
    public private(set) var length: UInt64 = 0
    /// The epoch of the last replayed chunk.
    public private(set) var lastEpoch: UInt32 = 0
    /// Bytes this value has read from the file (what a watcher's test counts).
    public private(set) var bytesRead: UInt64 = 0

    public init(path: String) { self.path = path }

    public func knows(stack id: UInt32) -> Bool { index[id] != nil }

    /// Reads the file from `length` on and replays its chunks through `target`.
    public mutating func advance(through target: UInt64) throws(DumpError) {
        guard target > length else { return }
        let bytes: [UInt8]
        // Only up to the target: what lies beyond may be a chunk still being written.
        do throws(SystemError) { bytes = try FileIO.read(path: path, offset: Int(length), limit: Int(target - length)) } catch {
            throw DumpError(path: error.path, problem: .unreadable(reason: error.reason))
        }
        bytesRead += UInt64(bytes.count)
        try replay(bytes, at: length, through: target)
    }

    /// Replays `bytes`, the file's contents from byte `start` (at most `length`) on, through
    /// `target`. Throws if the bytes end first (the log was cut: `isIncomplete`) or a chunk
    /// crosses `target`.
    public mutating func replay(_ bytes: [UInt8], at start: UInt64, through target: UInt64) throws(DumpError) {
        precondition(start <= length, "replay cannot skip bytes")
        let result: Result<Void, DumpError> = bytes.withUnsafeBytes { raw in
            Result { () throws(DumpError) in try replay(raw, at: start, through: target) }
        }
        try result.get()
    }

    private mutating func replay(_ raw: UnsafeRawBufferPointer, at start: UInt64, through target: UInt64) throws(DumpError) {
        let end = start + UInt64(raw.count)
        func fail(_ problem: DumpError.Problem) -> DumpError { DumpError(path: path, problem: problem) }
        func invalid(_ field: String, _ value: String, _ rule: String) -> DumpError {
            fail(.invalidField(field: field, value: value, rule: rule))
        }
        if length == 0 {
            // The magic first: a short foreign file is foreign, not a cut log.
            guard raw.starts(with: DumpLayout.logMagic.prefix(raw.count)) else { throw fail(.badLogMagic) }
            guard raw.count >= DumpLayout.logHeaderSize else {
                throw fail(.logShorterThanNamed(log: path, named: target, complete: 0))
            }
            let header = raw.loadUnaligned(as: RawLogHeader.self)
            guard header.version == DumpLayout.logVersion else {
                throw invalid("log header version", "\(header.version)", "must be \(DumpLayout.logVersion)")
            }
            guard Int32(bitPattern: header.pid) > 0 else {
                throw invalid("log header pid", "\(Int32(bitPattern: header.pid))", "must be positive")
            }
            pid = Int32(bitPattern: header.pid)
            startNs = header.start_ns
            length = UInt64(DumpLayout.logHeaderSize)
        }
        // Framing first, chunk after chunk (cheap); then the bodies, inflated and parsed on all
        // cores (the expensive part, and each chunk's own); then applied in order. A framing
        // error is thrown after the whole chunks before it are applied, as a chunk-by-chunk
        // replay would.
        var frames: [ChunkFrame] = []
        var framingError: DumpError?
        var at = length, previousEpoch = lastEpoch
        while at < target {
            let position = Int(at - start)
            guard end - at >= UInt64(DumpLayout.logChunkSize) else {
                framingError = fail(.logShorterThanNamed(log: path, named: target, complete: at))
                break
            }
            let chunk = raw.loadUnaligned(fromByteOffset: position, as: RawLogChunk.self)
            let frame = ChunkFrame(offset: at, position: position, header: chunk)
            let (chunkEnd, overflow) = (at + UInt64(DumpLayout.logChunkSize)).addingReportingOverflow(chunk.stored_length)
            if overflow || chunkEnd > end {
                framingError = fail(.logShorterThanNamed(log: path, named: target, complete: at))
                break
            }
            if chunkEnd > target {
                framingError = fail(.logLengthNotAtChunk(log: path, named: target, chunkEnd: chunkEnd))
                break
            }
            if chunk.epoch <= previousEpoch {
                framingError = invalid("\(frame.record) epoch", "\(chunk.epoch)",
                                       "must follow the previous chunk's epoch \(previousEpoch)")
                break
            }
            if chunk.flags & ~DumpLayout.logFlagDeflated != 0 {
                framingError = invalid("\(frame.record) flags", "0x" + String(chunk.flags, radix: 16), "only bit 0 is defined")
                break
            }
            if chunk.raw_length > UInt64(DumpParser.inflateLimit) {
                framingError = invalid("\(frame.record) raw_length", "\(chunk.raw_length)",
                                       "must be at most \(DumpParser.inflateLimit)")
                break
            }
            frames.append(frame)
            previousEpoch = chunk.epoch
            at = chunkEnd
        }
        let bytes = SharedBytes(raw)
        let logPath = path
        let decode: @Sendable (Int) -> Result<DecodedChunk, DumpError> = { [frames] i in
            Result { () throws(DumpError) in try Self.decode(frames[i], in: bytes.raw, path: logPath) }
        }
        let decoded = frames.count >= Self.chunksWorthSpreading
            ? concurrentMap(count: frames.count, decode) : frames.indices.map(decode)
        for (frame, chunk) in zip(frames, decoded) {
            try apply(try chunk.get(), record: frame.record)
            lastEpoch = frame.header.epoch
            length = frame.end
        }
        if let framingError { throw framingError }
    }

    /// Below this many chunks, decoding them on other threads costs more than it saves.
    static let chunksWorthSpreading = 8

    /// Inflates and parses one chunk's body.
    private static func decode(_ frame: ChunkFrame, in raw: UnsafeRawBufferPointer, path: String) throws(DumpError) -> DecodedChunk {
        let chunk = frame.header
        let bodyStart = frame.position + DumpLayout.logChunkSize
        let stored = UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + Int(chunk.stored_length))])
        let reader = DumpParser(stored, path: path)
        var body: [UInt8]
        if chunk.flags & DumpLayout.logFlagDeflated != 0 {
            body = try reader.inflate(stored, what: "body of the \(frame.record)", limit: Int(chunk.raw_length),
                                      sizeHint: Int(chunk.raw_length))
        } else {
            body = Array(stored)
        }
        if UInt64(body.count) != chunk.raw_length {
            throw DumpError(path: path, problem: .invalidField(
                field: "\(frame.record) raw_length", value: "\(chunk.raw_length)", rule: "must be the body's \(body.count) bytes"))
        }
        var decoded = DecodedChunk()
        let result: Result<Void, DumpError> = body.withUnsafeBytes { raw in
            var parser = DumpParser(raw, path: path)
            var unused = Dump(header: DumpHeader(pid: 1, parentPID: 0, epoch: 1, wallTimeNs: 0, monotonicNs: 0,
                                                 startMonotonicNs: 0, rate: 1, maxDepth: 1),
                              executable: "", commandLine: [], modules: [], stacks: [], live: [])
            return Result { () throws(DumpError) in
                try parser.parseSections(into: &unused, known: DumpParser.chunkSections) { tag, section throws(DumpError) in
                    switch tag {
                    case .stacks: decoded.newStacks = try section.loggedStacks()
                    case .modules: decoded.newModules = try section.modules()
                    case .alloc: decoded.allocs = try section.allocs()
                    default: break
                    }
                }
            }
        }
        do throws(DumpError) { try result.get() } catch {
            throw DumpError(path: path, problem: .inChunk(frame.record, error.problem))
        }
        return decoded
    }

    /// Applies one chunk's sections: new stacks, then the module list, then ALLOC.
    private mutating func apply(_ chunk: DecodedChunk, record: @autoclosure () -> String) throws(DumpError) {
        for stack in chunk.newStacks {
            guard index[stack.id] == nil else {
                throw DumpError(path: path, problem: .inChunk(record(), .duplicateStackID(stack.id)))
            }
            index[stack.id] = stacks.count
            stacks.append(stack)
        }
        if let newModules = chunk.newModules { modules = newModules }
        let index = self.index
        let unknown: UInt32? = stacks.withUnsafeMutableBufferPointer { stacks in
            for alloc in chunk.allocs {
                guard let i = index[alloc.stack_id] else { return alloc.stack_id }
                stacks[i].allocObjects = alloc.alloc_objects
                stacks[i].allocBytes = alloc.alloc_bytes
            }
            return nil
        }
        if let unknown { throw DumpError(path: path, problem: .inChunk(record(), .allocForUnknownStack(unknown))) }
    }

    /// The whole dump that `file` (a v2 epoch file, decoded) and this log at the length the file
    /// names describe: what a v1 file of that epoch held. The log must have been replayed
    /// exactly that far.
    public func dump(for file: Dump, path filePath: String) throws(DumpError) -> Dump {
        guard let reference = file.log else { return file }
        precondition(length == reference.length, "replay the log to the epoch's length first")
        if pid != file.header.pid {
            throw DumpError(path: filePath, problem: .inconsistent(
                field: "pid \(file.header.pid)", rule: "differs from pid \(pid) in the header of", other: path))
        }
        if startNs != file.header.startMonotonicNs {
            throw DumpError(path: filePath, problem: .inconsistent(
                field: "start_ns \(file.header.startMonotonicNs)", rule: "differs from start_ns \(startNs) in the header of",
                other: path))
        }
        if UInt64(lastEpoch) != file.header.epoch {
            throw DumpError(path: filePath, problem: .invalidField(
                field: "LOG length", value: "\(reference.length)",
                rule: "must end the chunk of epoch \(file.header.epoch) in \(path), but ends the chunk of epoch \(lastEpoch)"))
        }
        for cell in file.live where index[cell.stackID] == nil {
            throw DumpError(path: filePath, problem: .cohortForUnknownStack(cell.stackID, log: path, length: length))
        }
        for site in file.threads?.sites ?? [] where site.stackID != 0 && index[site.stackID] == nil {
            throw DumpError(path: filePath, problem: .invalidField(
                field: "THREADS stack id", value: "\(site.stackID)",
                rule: "must be 0 or a stack \(path) lists in its first \(length) bytes"))
        }
        var whole = file
        whole.modules = modules
        whole.stacks = stacks
        return whole
    }
}

/// Where one chunk of a log lies: its offset in the file, its position in the bytes read, its
/// header.
private struct ChunkFrame: Sendable {
    var offset: UInt64
    var position: Int
    var header: RawLogChunk
    var end: UInt64 { offset + UInt64(DumpLayout.logChunkSize) + header.stored_length }
    /// How messages name the chunk (built only for a message).
    var record: String { "log chunk at offset \(offset) (epoch \(header.epoch))" }
}

/// A chunk's body, inflated and parsed: what applying it adds and changes.
private struct DecodedChunk: Sendable {
    var newStacks: [StackRecord] = []
    var newModules: [Module]?
    var allocs: [RawAlloc] = []
}

/// The bytes read from a log, shared read-only with the threads that decode its chunks while
/// the caller waits for them.
private struct SharedBytes: @unchecked Sendable {
    let raw: UnsafeRawBufferPointer
    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }
}

/// Where each stack id sits in a log's `stacks`: a flat table for the small ids the shim hands
/// out (a dictionary's hashing was a tenth of replaying a long log), a dictionary for others.
private struct StackPositions: Sendable {
    private var flat: [Int32] = []  // -1: no such stack
    private var others: [UInt32: Int] = [:]
    private static let flatLimit: UInt32 = 1 << 22

    subscript(id: UInt32) -> Int? {
        get {
            if id < Self.flatLimit { return Int(id) < flat.count && flat[Int(id)] >= 0 ? Int(flat[Int(id)]) : nil }
            return others[id]
        }
        set {
            guard id < Self.flatLimit else {
                others[id] = newValue
                return
            }
            if Int(id) >= flat.count { flat += repeatElement(-1, count: max(Int(id) + 1, 2 * flat.count) - flat.count) }
            flat[Int(id)] = newValue.map { Int32(truncatingIfNeeded: $0) } ?? -1
        }
    }
}
