// The bounds-checked cursor DumpReader decodes with: every read checks what is left first,
// records are loaded as the C structs of swheap_format.h.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A cursor over the raw bytes of one file. Each `take` checks what is left first.
struct DumpParser {
    let base: UnsafeRawPointer
    let count: Int
    var offset = 0
    let path: String

    init(_ raw: UnsafeRawBufferPointer, path: String) {
        // An empty array may have no base address; any valid pointer works for zero bytes.
        self.base = raw.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(bitPattern: 1)!
        self.count = raw.count
        self.path = path
    }

    func fail(_ problem: DumpError.Problem) -> DumpError {
        DumpError(path: path, problem: problem)
    }

    /// Throws the problem DumpValidation found, naming this file.
    func check(_ broken: DumpError.Problem?) throws(DumpError) {
        if let broken { throw fail(broken) }
    }

    // MARK: Header

    mutating func parseHeader() throws(DumpError) -> DumpHeader {
        // The magic first: a short foreign file is foreign, not a truncated dump.
        let magicSize = DumpLayout.magic.count
        if memcmp(base, DumpLayout.magic, min(magicSize, count)) != 0 { throw fail(.badMagic) }
        guard count >= DumpLayout.headerSize else { throw fail(.truncatedHeader(size: count)) }
        let raw = base.loadUnaligned(as: RawHeader.self)
        guard raw.version >= DumpLayout.oldestVersion && raw.version <= DumpLayout.newestReadableVersion else {
            throw fail(.unsupportedVersion(raw.version))
        }
        try check(DumpValidation.check(raw))
        offset = DumpLayout.headerSize
        var header = DumpHeader(
            version: raw.version,
            isFinal: raw.flags & DumpLayout.flagFinal != 0,
            isScanned: raw.flags & DumpLayout.flagScanned != 0,
            isTruncated: raw.flags & DumpLayout.flagTruncated != 0,
            heapTraversed: raw.flags & DumpLayout.flagReachability != 0,
            isDeflated: raw.flags & DumpLayout.flagDeflated != 0,
            pid: Int32(bitPattern: raw.pid),
            parentPID: Int32(bitPattern: raw.parent_pid),
            epoch: raw.epoch,
            wallTimeNs: raw.wall_ns,
            monotonicNs: raw.monotonic_ns,
            startMonotonicNs: raw.start_ns,
            rate: raw.rate,
            maxDepth: raw.max_depth)
        header.scanFallback = raw.scan_fallback
        return header
    }

    // MARK: Sections

    mutating func parseDump() throws(DumpError) -> Dump {
        let header = try parseHeader()
        guard header.version >= DumpLayout.logVersion else {
            var dump = Dump(header: header, executable: "", commandLine: [], modules: [], stacks: [], live: [])
            try parseSections(into: &dump, known: Self.version1Sections)
            try checkStackIDs(dump)
            return dump
        }
        return try parseLoggedDump(header)
    }

    static let version1Sections: [DumpLayout.Tag] = [.exe, .cmdline, .modules, .stacks, .live, .end]
    static let epochSections: [DumpLayout.Tag] = [.exe, .cmdline, .log, .attach, .cohorts, .threads, .memory, .scan, .end]
    static let chunkSections: [DumpLayout.Tag] = [.stacks, .modules, .alloc, .end]

    /// Reads sections from here to the end; tags outside `known` are skipped as unknown.
    /// `dump` receives the sections of an epoch file; a log chunk's go through `chunk`.
    mutating func parseSections(into dump: inout Dump, known: [DumpLayout.Tag],
                                chunk: ((DumpLayout.Tag, inout DumpParser) throws(DumpError) -> Void)? = nil) throws(DumpError) {
        var seen = Set<UInt32>()
        var sawEnd = false
        while offset < count {
            let left = count - offset
            guard left >= DumpLayout.sectionHeaderSize else {
                throw fail(.truncatedSectionHeader(offset: offset, left: left))
            }
            let sectionHeader = base.loadUnaligned(fromByteOffset: offset, as: RawSection.self)
            let rawTag = sectionHeader.tag, length = sectionHeader.length
            offset += DumpLayout.sectionHeaderSize
            let tag = DumpLayout.Tag(rawValue: rawTag).flatMap { known.contains($0) ? $0 : nil }
            let name = tag?.name ?? "unknown (tag \(rawTag))"
            guard length <= UInt64(count - offset) else {
                throw fail(.sectionPastEnd(section: name, length: length, left: count - offset))
            }
            let end = offset + Int(length)
            guard let tag else { offset = end; continue }  // unknown sections are skipped
            guard seen.insert(rawTag).inserted else { throw fail(.duplicateSection(name)) }
            var section = DumpParser(base: base + offset, count: Int(length), path: path)
            if tag == .end {
                guard length == 0 else { throw fail(.nonEmptyEnd(length: length)) }
                sawEnd = true
            } else if let chunk {
                try chunk(tag, &section)
            } else {
                switch tag {
                case .exe: dump.executable = try section.string(in: name)
                case .cmdline: dump.commandLine = section.commandLine()
                case .modules: dump.modules = try section.modules()
                case .stacks: dump.stacks = try section.stacks()
                case .live: dump.live = try section.live(dumpEpoch: dump.header.epoch)
                case .log: dump.log = try section.logReference(header: dump.header)
                case .cohorts: dump.live = try section.cohorts(dumpEpoch: dump.header.epoch)
                case .threads: dump.threads = try section.threadCensus()
                case .attach: dump.header.attach = try section.attach(header: dump.header)
                case .memory: dump.memory = try section.memory()
                case .scan: (dump.header.scan, dump.scanSites, dump.scanHolders, dump.scanComponents) = try section.scan(header: dump.header)
                case .alloc, .end: break
                }
            }
            try section.expectConsumed(name)
            offset = end
            if sawEnd { break }
        }
        guard sawEnd else { throw fail(.missingEnd) }
        guard offset == count else { throw fail(.dataAfterEnd(bytes: count - offset)) }
    }

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base; self.count = count; self.path = path
    }

    func checkStackIDs(_ dump: Dump) throws(DumpError) {
        var ids = Set<UInt32>(minimumCapacity: dump.stacks.count)
        for stack in dump.stacks where !ids.insert(stack.id).inserted {
            throw fail(.duplicateStackID(stack.id))
        }
        for bucket in dump.live where !ids.contains(bucket.stackID) {
            throw fail(.liveForUnknownStack(bucket.stackID))
        }
    }

    func expectConsumed(_ section: String) throws(DumpError) {
        if offset != count { throw fail(.trailingBytes(section: section, bytes: count - offset)) }
    }

    func need(_ bytes: UInt64, in section: String) throws(DumpError) {
        if bytes > UInt64(count - offset) {
            throw fail(.truncatedSection(section: section, needs: bytes, left: count - offset))
        }
    }

    /// Reads a record count and rejects counts whose smallest encoding would not fit.
    mutating func recordCount(in section: String, minimumRecord: UInt64) throws(DumpError) -> Int {
        try need(4, in: section)
        let n = u32(at: offset)
        offset += 4
        let minimum = UInt64(n) * minimumRecord
        if minimum > UInt64(count - offset) {
            throw fail(.absurdCount(section: section, count: n, minimumBytes: minimum, left: count - offset))
        }
        return Int(n)
    }

    mutating func readU32(in section: String) throws(DumpError) -> UInt32 {
        try need(4, in: section)
        defer { offset += 4 }
        return u32(at: offset)
    }

    mutating func readU64(in section: String) throws(DumpError) -> UInt64 {
        try need(8, in: section)
        defer { offset += 8 }
        return u64(at: offset)
    }

    mutating func string(in section: String) throws(DumpError) -> String {
        let length = try readU32(in: section)
        try need(UInt64(length), in: section)
        defer { offset += Int(length) }
        return text(at: offset, length: Int(length))
    }

    mutating func byteArray(in section: String) throws(DumpError) -> [UInt8] {
        let length = try readU32(in: section)
        try need(UInt64(length), in: section)
        defer { offset += Int(length) }
        return Array(UnsafeRawBufferPointer(start: base + offset, count: Int(length)))
    }

    /// Arguments each followed by NUL; a missing final NUL is tolerated.
    mutating func commandLine() -> [String] {
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: count - offset)
        offset = count
        var arguments: [String] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == 0 {
            arguments.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
            start = i + 1
        }
        if start < bytes.count {
            arguments.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start...]), as: UTF8.self))
        }
        return arguments
    }

    /// MODULES (v1, and v2 log chunks): each module with its PT_LOAD segments.
    mutating func modules() throws(DumpError) -> [Module] {
        let name = DumpLayout.Tag.modules.name
        return try records(in: .modules, minimumRecord: DumpLayout.moduleRecordMinimum) { parser, index throws(DumpError) in
            let bias = try parser.readU64(in: name)
            let path = try parser.string(in: name)
            let buildID = try parser.byteArray(in: name)
            let segments = try parser.fixedRecords(in: .modules, as: RawSegment.self, size: DumpLayout.segmentRecordSize,
                                                   check: { raw, _ in DumpValidation.check(raw, module: index) }) { raw in
                Segment(start: raw.start, end: raw.end, fileOffset: raw.file_offset, flags: raw.flags)
            }
            return Module(loadBias: bias, path: path, buildID: buildID, segments: segments)
        }
    }

    /// v1 STACKS: each stack with its cumulative allocation.
    mutating func stacks() throws(DumpError) -> [StackRecord] {
        try stackRecords(in: .stacks, as: RawStack.self, size: DumpLayout.stackRecordSize, depth: \.depth,
                         check: DumpValidation.check(_:index:)) { raw, frames in
            StackRecord(id: raw.stack_id, frames: frames, allocObjects: raw.alloc_objects, allocBytes: raw.alloc_bytes)
        }
    }

    /// v1 LIVE: live objects per (stack, birth epoch).
    mutating func live(dumpEpoch: UInt64) throws(DumpError) -> [LiveCell] {
        try fixedRecords(in: .live, as: RawLive.self, size: DumpLayout.liveRecordSize,
                         check: { DumpValidation.check($0, index: $1, dumpEpoch: dumpEpoch) }) { raw in
            LiveCell(stackID: raw.stack_id, birthEpoch: raw.birth_epoch,
                     liveObjects: raw.live_objects, liveBytes: raw.live_bytes,
                     unreferencedObjects: raw.unref_objects, unreferencedBytes: raw.unref_bytes)
        }
    }

    // MARK: Record loops (every section of records, v1 and v2)

    /// A u32 count, then that many records, each read by `readRecord` (given its index).
    mutating func records<Record>(in tag: DumpLayout.Tag, minimumRecord: UInt64,
                                  _ readRecord: (inout DumpParser, Int) throws(DumpError) -> Record) throws(DumpError) -> [Record] {
        let n = try recordCount(in: tag.name, minimumRecord: minimumRecord)
        var records: [Record] = []
        records.reserveCapacity(n)
        for index in 0..<n { records.append(try readRecord(&self, index)) }
        return records
    }

    /// Records that are one C struct each, checked by `rules`, then converted by `make`.
    mutating func fixedRecords<Raw, Record>(in tag: DumpLayout.Tag, as _: Raw.Type, size: UInt64,
                                            check rules: (Raw, Int) -> DumpError.Problem?,
                                            _ make: (Raw) -> Record) throws(DumpError) -> [Record] {
        try records(in: tag, minimumRecord: size) { parser, index throws(DumpError) in
            // recordCount guaranteed the bytes for every record.
            let raw = parser.base.loadUnaligned(fromByteOffset: parser.offset, as: Raw.self)
            parser.offset += Int(size)
            try parser.check(rules(raw, index))
            return make(raw)
        }
    }

    /// Stacks: a C struct that gives the depth, then that many u64 frames. The struct is
    /// checked (depth bounded) before its frames are read.
    mutating func stackRecords<Raw>(in tag: DumpLayout.Tag, as _: Raw.Type, size: UInt64, depth: (Raw) -> UInt32,
                                    check rules: (Raw, Int) -> DumpError.Problem?,
                                    _ make: (Raw, [UInt64]) -> StackRecord) throws(DumpError) -> [StackRecord] {
        let name = tag.name
        return try records(in: tag, minimumRecord: size) { parser, index throws(DumpError) in
            try parser.need(size, in: name)
            let raw = parser.base.loadUnaligned(fromByteOffset: parser.offset, as: Raw.self)
            parser.offset += Int(size)
            try parser.check(rules(raw, index))
            let frameCount = Int(depth(raw))
            try parser.need(UInt64(frameCount) * 8, in: name)
            let frames = parser.u64Array(at: parser.offset, count: frameCount)
            parser.offset += frameCount * 8
            return make(raw, frames)
        }
    }

    // MARK: Raw loads (callers have checked the bounds)

    @inline(__always) func u32(at position: Int) -> UInt32 {
        UInt32(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    @inline(__always) func u64(at position: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    func text(at position: Int, length: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(start: base + position, count: length), as: UTF8.self)
    }

    func u64Array(at position: Int, count n: Int) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: n) { buffer, initialized in
            #if _endian(little)
            if n > 0 { memcpy(buffer.baseAddress!, base + position, n * 8) }
            #else
            for i in 0..<n { buffer[i] = u64(at: position + i * 8) }
            #endif
            initialized = n
        }
    }
}
