// Encodes a `Dump` into the bytes of a dump file (docs/FORMAT.md), exactly as the shim would,
// from the same C record layouts (swheap_format.h). Tests, benchmarks and `swheap synth` use
// it; the commands that read dumps never write one.

import CSwHeapFormat
import SwHeapDump
import SwHeapSystem

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
        out.section(.modules) { writeModules(dump.modules, to: &$0) }
        out.section(.stacks) { body in
            body.u32(UInt32(dump.stacks.count))
            for stack in dump.stacks {
                body.record(RawStack(stack_id: stack.id, depth: UInt32(stack.frames.count),
                                     alloc_objects: stack.allocObjects, alloc_bytes: stack.allocBytes))
                for frame in stack.frames { body.u64(frame) }
            }
        }
        out.section(.live) { body in
            body.u32(UInt32(dump.live.count))
            for cell in dump.live {
                body.record(RawLive(stack_id: cell.stackID, birth_epoch: cell.birthEpoch,
                                    live_objects: cell.liveObjects, live_bytes: cell.liveBytes,
                                    unref_objects: cell.unreferencedObjects, unref_bytes: cell.unreferencedBytes))
            }
        }
        for extra in extraSections {
            out.sectionHeader(tag: extra.tag, length: UInt64(extra.body.count))
            out.raw(extra.body)
        }
        out.section(.end) { _ in }
        return out.bytes
    }

    /// A MODULES body (the same in v1 files and v2 log chunks).
    static func writeModules(_ modules: [Module], to body: inout ByteSink) {
        body.u32(UInt32(modules.count))
        for module in modules {
            body.u64(module.loadBias)
            body.string(module.path)
            body.u32(UInt32(module.buildID.count))
            body.raw(module.buildID)
            body.u32(UInt32(module.segments.count))
            for segment in module.segments {
                body.record(RawSegment(start: segment.start, end: segment.end, file_offset: segment.fileOffset,
                                       flags: segment.flags, reserved: 0))
            }
        }
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
        let path = directory + "/" + fileName(pid: dump.header.pid, epoch: dump.header.epoch)
        do throws(SystemError) {
            try FileIO.writeAtomically(encode(dump), to: path,
                                       temporaryName: ".\(dump.header.pid).\(dump.header.epoch).tmp", mode: 0o600)
        } catch {
            throw DumpError(path: error.path, problem: .unwritable(reason: error.reason))
        }
        return path
    }

    /// The bytes of a v2 epoch file for `dump` (header version 2): EXE, CMDLINE, LOG naming
    /// `log`, COHORTS from `dump.live` (single-epoch cells are merged into the cohorts the shim
    /// would write, `Cohort.of`), THREADS from `dump.threads` when set, MEMORY from `dump.memory`
    /// when set, END; the body deflated as one zlib stream when `deflated`.
    public static func encodeEpoch(_ dump: Dump, log: LogReference, deflated: Bool,
                                   extraSections: [ExtraSection] = []) -> [UInt8] {
        var header = dump.header
        header.version = DumpLayout.logVersion
        header.isDeflated = deflated
        var out = ByteSink()
        writeHeader(header, to: &out)
        var body = ByteSink()
        body.section(.exe) { $0.string(dump.executable) }
        body.section(.cmdline) { section in
            for argument in dump.commandLine {
                section.raw(Array(argument.utf8))
                section.u8(0)
            }
        }
        body.section(.log) { section in
            section.u64(log.length)
            section.string(log.name)
        }
        let cohorts = cohorts(of: dump.live, epoch: UInt32(dump.header.epoch))
        body.section(.cohorts) { section in
            section.u32(UInt32(cohorts.count))
            for cell in cohorts {
                section.record(RawCohort(stack_id: cell.stackID, birth_first: cell.birthEpoch, birth_last: cell.birthLast,
                                         reserved: 0, live_objects: cell.liveObjects, live_bytes: cell.liveBytes,
                                         unref_objects: cell.unreferencedObjects, unref_bytes: cell.unreferencedBytes))
            }
        }
        if let threads = dump.threads {
            body.section(.threads) { section in
                section.record(RawThreads(tasks: threads.tasks, before_profiling: threads.beforeProfiling,
                                          untracked: threads.untracked,
                                          flags: threads.isTruncated ? DumpLayout.threadsFlagTruncated : 0))
                section.u32(UInt32(threads.sites.count))
                for site in threads.sites {
                    section.record(RawThreadSite(stack_id: site.stackID, reserved: 0, running: site.running,
                                                 exited_unjoined: site.exitedUnjoined, gone: site.gone,
                                                 stack_bytes: site.stackBytes, unjoined_bytes: site.unjoinedBytes))
                }
            }
        }
        if let memory = dump.memory {
            body.section(.memory) { $0.record(memoryRecord(memory)) }
        }
        if let scan = dump.header.scan {
            body.section(.scan) { section in
                section.record(scanRecord(scan))
                section.u32(UInt32(dump.scanSites.count))
                for cell in dump.scanSites.sorted(by: { $0.stackID < $1.stackID }) {
                    section.record(RawCohort(stack_id: cell.stackID, birth_first: 0, birth_last: 0, reserved: 0,
                                             live_objects: cell.liveObjects, live_bytes: cell.liveBytes,
                                             unref_objects: cell.unreferencedObjects, unref_bytes: cell.unreferencedBytes))
                }
                let holders = dump.scanHolders.sorted(by: { $0.stackID < $1.stackID })
                section.u32(UInt32(holders.count))
                for holder in holders {
                    section.record(RawHolder(stack_id: holder.stackID, kind: holder.kind.code, tid: holder.thread ?? 0,
                                             depth: holder.blocksBetween, address: holder.address, context: holder.context ?? 0))
                }
                section.u32(UInt32(holders.reduce(0) { $0 + $1.steps.count }))
                for holder in holders {
                    for step in holder.steps {
                        section.record(RawStep(stack_id: holder.stackID, index: step.index, block_stack: step.blockStack ?? 0,
                                               reserved: 0, address: step.address, size: step.size,
                                               offset: step.offset ?? DumpLayout.stepOffsetUnknown))
                    }
                }
                let components = dump.scanComponents.sorted(by: { $0.key < $1.key })
                section.u32(UInt32(components.reduce(0) { $0 + $1.value.count }))
                for (stackID, ids) in components {
                    for id in ids { section.record(RawComponent(stack_id: stackID, component: id)) }
                }
            }
        }
        for extra in extraSections {
            body.sectionHeader(tag: extra.tag, length: UInt64(extra.body.count))
            body.raw(extra.body)
        }
        body.section(.end) { _ in }
        out.raw(deflated ? deflate(body.bytes) : body.bytes)
        return out.bytes
    }

    /// `cells` merged per (stack, cohort as seen from `epoch`), in first-seen stack order.
    public static func cohorts(of cells: [LiveCell], epoch: UInt32) -> [LiveCell] {
        var merged: [LiveCell] = []
        var index: [UInt64: Int] = [:]
        for cell in cells {
            let cohort = Cohort.of(birth: cell.birthEpoch, epoch: epoch)
            let key = UInt64(cell.stackID) << 32 | UInt64(cohort.lowerBound)
            if let i = index[key] {
                merged[i].liveObjects += cell.liveObjects
                merged[i].liveBytes += cell.liveBytes
                merged[i].unreferencedObjects += cell.unreferencedObjects
                merged[i].unreferencedBytes += cell.unreferencedBytes
            } else {
                index[key] = merged.count
                merged.append(LiveCell(stackID: cell.stackID, birthEpoch: cohort.lowerBound, birthLast: cohort.upperBound,
                                       liveObjects: cell.liveObjects, liveBytes: cell.liveBytes,
                                       unreferencedObjects: cell.unreferencedObjects,
                                       unreferencedBytes: cell.unreferencedBytes))
            }
        }
        return merged
    }

    /// The SCAN record the shim would write for `scan`.
    public static func scanRecord(_ scan: ScanRecord) -> RawScan {
        var flags: UInt32 = scan.fallback == nil ? DumpLayout.scanDone : 0
        if scan.isLive { flags |= DumpLayout.scanLive }
        if scan.wasAsked { flags |= DumpLayout.scanAsked }
        return RawScan(wall_ns: scan.wallNs, pause_ns: scan.pauseNs, duration_ns: scan.durationNs, flags: flags,
                       fallback: scan.fallback?.raw ?? 0, epoch: UInt32(clamping: scan.epoch), cpu_us: scan.cpuMicroseconds)
    }

    /// The MEMORY record the shim would write for `memory` (version 1): a figure that is nil is
    /// 0 with its valid bit clear.
    public static func memoryRecord(_ memory: MemoryPicture) -> RawMemory {
        var raw = RawMemory()
        raw.version = MemoryRecord.version
        raw.size = UInt32(DumpLayout.memoryRecordSize)
        raw.allocator = UInt32(AllocatorKind.allCases.firstIndex(of: memory.allocator) ?? 0)
        var valid: UInt32 = 0
        func put<T: BinaryInteger>(_ value: T?, _ bit: UInt32) -> T {
            guard let value else { return 0 }
            valid |= bit
            return value
        }
        raw.rss_bytes = put(memory.rssBytes, MemoryRecord.rss)
        raw.file_bytes = put(memory.fileBytes, MemoryRecord.rss)
        raw.anon_bytes = put(memory.anonBytes, MemoryRecord.anon)
        raw.in_use_bytes = put(memory.inUseBytes, MemoryRecord.inUse)
        raw.free_bytes = put(memory.freeBytes, MemoryRecord.free)
        raw.held_bytes = put(memory.heldBytes, MemoryRecord.held)
        raw.arenas = put(memory.arenas, MemoryRecord.arenas)
        raw.valid = valid
        if memory.allocatorSkipped { raw.valid |= MemoryRecord.skipped }
        if memory.allocatorLate { raw.valid |= MemoryRecord.late }
        raw.allocator_ns = memory.allocatorNs
        raw.sampled_live_bytes = memory.sampledLiveBytes
        if !memory.figures.isEmpty {
            raw.valid |= MemoryRecord.raw
            withUnsafeMutableBytes(of: &raw.raw) { slots in
                let values = slots.bindMemory(to: UInt64.self)
                for (index, name) in memory.allocator.rawFigureNames.enumerated() where index < values.count {
                    values[index] = memory.figure(name) ?? 0
                }
            }
        }
        return raw
    }

    static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        do throws(ZlibError) { return try Zlib.compress(bytes, wrapper: .zlib) } catch {
            fatalError("zlib cannot deflate in memory: \(error)")  // only when out of memory
        }
    }

    static func writeHeader(_ header: DumpHeader, to out: inout ByteSink) {
        var flags: UInt32 = 0
        if header.isDeflated { flags |= DumpLayout.flagDeflated }
        if header.isFinal { flags |= DumpLayout.flagFinal }
        if header.isScanned { flags |= DumpLayout.flagScanned }
        if header.isTruncated { flags |= DumpLayout.flagTruncated }
        if header.heapTraversed { flags |= DumpLayout.flagReachability }
        var raw = RawHeader()
        withUnsafeMutableBytes(of: &raw.magic) { $0.copyBytes(from: DumpLayout.magic) }
        raw.version = header.version
        raw.flags = flags
        raw.pid = UInt32(bitPattern: header.pid)
        raw.parent_pid = UInt32(bitPattern: header.parentPID)
        raw.epoch = header.epoch
        raw.wall_ns = header.wallTimeNs
        raw.monotonic_ns = header.monotonicNs
        raw.start_ns = header.startMonotonicNs
        raw.rate = header.rate
        raw.max_depth = header.maxDepth
        raw.scan_fallback = header.scanFallback
        out.record(raw)
    }

    private static func estimatedSize(_ dump: Dump) -> Int {
        let frames = dump.stacks.reduce(0) { $0 + $1.frames.count }
        return DumpLayout.headerSize + 6 * DumpLayout.sectionHeaderSize + 4096
            + dump.stacks.count * Int(DumpLayout.stackRecordSize) + frames * 8
            + dump.live.count * Int(DumpLayout.liveRecordSize)
    }
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

    /// A record laid out by swheap_format.h, in host (little-endian) order.
    mutating func record<Record: BitwiseCopyable>(_ value: Record) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    mutating func sectionHeader(tag: UInt32, length: UInt64) {
        record(RawSection(tag: tag, reserved: 0, length: length))
    }

    /// Writes a section header with a placeholder length, the body, then patches the length.
    mutating func section(_ tag: DumpLayout.Tag, body: (inout ByteSink) throws -> Void) rethrows {
        sectionHeader(tag: tag.rawValue, length: 0)
        let start = bytes.count
        try body(&self)
        var header = RawSection(tag: tag.rawValue, reserved: 0, length: UInt64(bytes.count - start))
        withUnsafeBytes(of: &header) { raw in
            for i in 0..<raw.count { bytes[start - raw.count + i] = raw[i] }
        }
    }
}
