// The v2 records (docs/FORMAT.md): an epoch file's body (inflated when deflated), its LOG
// and COHORTS sections, and the sections of a stack log's chunks. Same cursor and the same
// validation as v1: any bad field is a one-line DumpError naming the file, record and field.

extension DumpParser {
    /// A v2 epoch file after its header: EXE, CMDLINE, LOG, COHORTS, END, deflated or plain.
    /// The result names its log; `stacks` and `modules` stay empty until the log fills them.
    mutating func parseLoggedDump(_ header: DumpHeader) throws(DumpError) -> Dump {
        var dump = Dump(header: header, executable: "", commandLine: [], modules: [], stacks: [], live: [])
        if header.isDeflated {
            let body = try inflate(UnsafeRawBufferPointer(start: base + offset, count: count - offset),
                                   what: "body after the header", limit: Self.inflateLimit)
            let result: Result<Void, DumpError> = body.withUnsafeBytes { raw in
                var inner = DumpParser(raw, path: path)
                return Result { () throws(DumpError) in try inner.parseSections(into: &dump, known: Self.epochSections) }
            }
            try result.get()
        } else {
            try parseSections(into: &dump, known: Self.epochSections)
        }
        guard dump.log != nil else { throw fail(.missingSection(DumpLayout.Tag.log.name)) }
        return dump
    }

    /// No epoch file or chunk inflates beyond this (a corrupt stream must not exhaust memory).
    static let inflateLimit = 1 << 30

    func inflate(_ input: UnsafeRawBufferPointer, what: String, limit: Int, sizeHint: Int = 0) throws(DumpError) -> [UInt8] {
        do throws(ZlibError) { return try Zlib.decompress(input, limit: limit, sizeHint: sizeHint) } catch {
            throw fail(.badCompression(what: what, error))
        }
    }

    /// LOG: u64 the log length this dump uses, then the log's file name.
    mutating func logReference(header: DumpHeader) throws(DumpError) -> LogReference {
        let name = DumpLayout.Tag.log.name
        let length = try readU64(in: name)
        let file = try string(in: name)
        // The name must be this image's log in the same directory: `<pid>.<first6>.log`.
        let parts = file.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2] == "log", Int32(parts[0]) == header.pid, parts[1].count >= 6,
              let first = UInt64(parts[1]), first >= 1, first <= header.epoch else {
            throw fail(.invalidField(field: "LOG name", value: "\"\(file)\"",
                                     rule: "must be <pid>.<first epoch, 6 digits>.log of pid \(header.pid), first epoch at most \(header.epoch)"))
        }
        let minimum = UInt64(DumpLayout.logHeaderSize + DumpLayout.logChunkSize)
        guard length >= minimum else {
            throw fail(.invalidField(field: "LOG length", value: "\(length)",
                                     rule: "must be at least \(minimum) (a log header and one chunk)"))
        }
        return LogReference(name: file, length: length)
    }

    /// ATTACH: when the shim was attached and detached, and the heap it found.
    mutating func attach(header: DumpHeader) throws(DumpError) -> AttachInfo {
        let name = DumpLayout.Tag.attach.name
        try need(DumpLayout.attachRecordSize, in: name)
        let raw = base.loadUnaligned(fromByteOffset: offset, as: RawAttach.self)
        offset += Int(DumpLayout.attachRecordSize)
        try check(DumpValidation.check(raw, header: header))
        return AttachInfo(attachedWallNs: raw.attached_wall_ns,
                          detachedWallNs: raw.detached_wall_ns == 0 ? nil : raw.detached_wall_ns,
                          heapBeforeBytes: raw.flags & DumpLayout.attachHeapKnown != 0 ? raw.heap_before_bytes : nil)
    }

    /// SCAN: the latest scan with verdicts and its per-stack figures, or a failed try.
    mutating func scan(header: DumpHeader) throws(DumpError) -> (ScanRecord, [LiveCell], [ScanHolder], [UInt32: [UInt32]]) {
        let name = DumpLayout.Tag.scan.name
        try need(DumpLayout.scanRecordSize, in: name)
        let raw = base.loadUnaligned(fromByteOffset: offset, as: RawScan.self)
        offset += Int(DumpLayout.scanRecordSize)
        try check(DumpValidation.check(raw, header: header))
        let record = ScanRecord(wallNs: raw.wall_ns, pauseNs: raw.pause_ns, durationNs: raw.duration_ns,
                                isLive: raw.flags & DumpLayout.scanLive != 0, wasAsked: raw.flags & DumpLayout.scanAsked != 0,
                                fallback: raw.flags & DumpLayout.scanDone != 0 ? nil : ScanFallback(raw: raw.fallback) ?? .unknown(0),
                                epoch: UInt64(raw.epoch), cpuMicroseconds: raw.cpu_us)
        let sites = try fixedRecords(in: .scan, as: RawCohort.self, size: DumpLayout.cohortRecordSize,
                                     check: { DumpValidation.checkScanSite($0, index: $1) }) { raw in
            LiveCell(stackID: raw.stack_id, birthEpoch: 0, liveObjects: raw.live_objects, liveBytes: raw.live_bytes,
                     unreferencedObjects: raw.unref_objects, unreferencedBytes: raw.unref_bytes)
        }
        var holders = try fixedRecords(in: .scan, as: RawHolder.self, size: DumpLayout.holderRecordSize,
                                       check: { DumpValidation.checkHolder($0, index: $1) }) { raw in
            ScanHolder(stackID: raw.stack_id, kind: ScanHolder.Kind(code: raw.kind) ?? .global,
                       thread: ScanHolder.Kind(code: raw.kind) == .global ? nil : raw.tid, blocksBetween: raw.depth,
                       address: raw.address, context: raw.context == 0 ? nil : raw.context)
        }
        let holderAt = Dictionary(holders.enumerated().map { ($1.stackID, $0) }, uniquingKeysWith: { first, _ in first })
        let steps = try fixedRecords(in: .scan, as: RawStep.self, size: DumpLayout.stepRecordSize,
                                     check: { DumpValidation.checkStep($0, index: $1, holders: holderAt) }) { raw in
            (raw.stack_id, ScanStep(index: raw.index, blockStack: raw.block_stack == 0 ? nil : raw.block_stack,
                                    address: raw.address, size: raw.size,
                                    offset: raw.offset == DumpLayout.stepOffsetUnknown ? nil : raw.offset))
        }
        for (stackID, step) in steps { holders[holderAt[stackID]!].steps.append(step) }
        var components: [UInt32: [UInt32]] = [:]
        for raw in try fixedRecords(in: .scan, as: RawComponent.self, size: DumpLayout.componentRecordSize,
                                    check: { DumpValidation.checkComponent($0, index: $1) }, { $0 }) {
            components[raw.stack_id, default: []].append(raw.component)
        }
        return (record, sites, holders, components)
    }

    /// COHORTS: live objects per (stack, birth cohort).
    mutating func cohorts(dumpEpoch: UInt64) throws(DumpError) -> [LiveCell] {
        try fixedRecords(in: .cohorts, as: RawCohort.self, size: DumpLayout.cohortRecordSize,
                         check: { DumpValidation.check($0, index: $1, dumpEpoch: dumpEpoch) }) { raw in
            LiveCell(stackID: raw.stack_id, birthEpoch: raw.birth_first, birthLast: raw.birth_last,
                     liveObjects: raw.live_objects, liveBytes: raw.live_bytes,
                     unreferencedObjects: raw.unref_objects, unreferencedBytes: raw.unref_bytes)
        }
    }

    /// THREADS: the fixed part, then the sites, sorted by stack id.
    mutating func threadCensus() throws(DumpError) -> ThreadCensus {
        let name = DumpLayout.Tag.threads.name
        try need(DumpLayout.threadsSize, in: name)
        let raw = base.loadUnaligned(fromByteOffset: offset, as: RawThreads.self)
        offset += Int(DumpLayout.threadsSize)
        try check(DumpValidation.check(raw))
        var previous: UInt32?
        let sites = try fixedRecords(in: .threads, as: RawThreadSite.self, size: DumpLayout.threadSiteRecordSize,
                                     check: { raw, index in
                                         defer { previous = raw.stack_id }
                                         return DumpValidation.check(raw, index: index, previous: previous)
                                     }) { raw in
            ThreadSiteCount(stackID: raw.stack_id, running: raw.running, exitedUnjoined: raw.exited_unjoined,
                            gone: raw.gone, stackBytes: raw.stack_bytes, unjoinedBytes: raw.unjoined_bytes)
        }
        return ThreadCensus(tasks: raw.tasks, beforeProfiling: raw.before_profiling, untracked: raw.untracked,
                            isTruncated: raw.flags & DumpLayout.threadsFlagTruncated != 0, sites: sites)
    }

    /// MEMORY: one versioned record, the whole body. Version 1's fields are read; a newer
    /// record's appended fields are skipped.
    mutating func memory() throws(DumpError) -> MemoryPicture {
        let name = DumpLayout.Tag.memory.name
        try need(8, in: name)
        let version = u32(at: offset), size = u32(at: offset + 4)
        try check(DumpValidation.checkMemorySize(version: version, size: size, body: count - offset))
        let raw = base.loadUnaligned(fromByteOffset: offset, as: RawMemory.self)
        offset = count
        try check(DumpValidation.check(raw))
        func figure<T>(_ bit: UInt32, _ value: T) -> T? { raw.valid & bit != 0 ? value : nil }
        let allocator = AllocatorKind(code: raw.allocator)
        let values = withUnsafeBytes(of: raw.raw) { Array($0.bindMemory(to: UInt64.self)) }
        let figures = raw.valid & MemoryRecord.raw == 0 ? [] : zip(allocator.rawFigureNames, values).map {
            AllocatorFigure(name: $0.0, value: $0.1)
        }
        return MemoryPicture(version: version, allocator: allocator,
                             rssBytes: figure(MemoryRecord.rss, raw.rss_bytes), fileBytes: figure(MemoryRecord.rss, raw.file_bytes),
                             anonBytes: figure(MemoryRecord.anon, raw.anon_bytes),
                             inUseBytes: figure(MemoryRecord.inUse, raw.in_use_bytes),
                             freeBytes: figure(MemoryRecord.free, raw.free_bytes),
                             heldBytes: figure(MemoryRecord.held, raw.held_bytes),
                             arenas: figure(MemoryRecord.arenas, raw.arenas),
                             allocatorSkipped: raw.valid & MemoryRecord.skipped != 0,
                             allocatorLate: raw.valid & MemoryRecord.late != 0, allocatorNs: raw.allocator_ns,
                             sampledLiveBytes: raw.sampled_live_bytes, figures: figures)
    }

    /// A chunk's STACKS: the stacks new since the previous chunk, frames only.
    mutating func loggedStacks() throws(DumpError) -> [StackRecord] {
        try stackRecords(in: .stacks, as: RawStackFrames.self, size: DumpLayout.stackFramesRecordSize, depth: \.depth,
                         check: DumpValidation.check(_:index:)) { raw, frames in
            StackRecord(id: raw.stack_id, frames: frames, allocObjects: 0, allocBytes: 0)
        }
    }

    /// A chunk's ALLOC: cumulative allocation of the stacks whose figures changed.
    mutating func allocs() throws(DumpError) -> [RawAlloc] {
        try fixedRecords(in: .alloc, as: RawAlloc.self, size: DumpLayout.allocRecordSize,
                         check: DumpValidation.check(_:index:)) { $0 }
    }
}
