// The rules every decoded field obeys (docs/FORMAT.md), checked as each record is read, so
// that nothing past the reader ever sees a NaN, an infinite or negative estimate, a birth
// after the dump or a clock that runs backwards. A broken rule is returned as the problem, which
// the parser throws as a one-line DumpError naming the file, the record and the field.

import CSwHeapFormat

enum DumpValidation {
    static let maxDepth = UInt32(SW_FORMAT_MAX_DEPTH)
    static let maxRate = UInt64(SW_FORMAT_MAX_RATE)
    static let maxEstimate = Double(SW_FORMAT_MAX_ESTIMATE)
    static let knownFlags = DumpLayout.flagFinal | DumpLayout.flagScanned | DumpLayout.flagTruncated
        | DumpLayout.flagReachability

    static func check(_ raw: RawHeader) -> DumpError.Problem? {
        let field = "header"
        let logged = raw.version >= DumpLayout.logVersion
        if raw.flags & ~(logged ? knownFlags | DumpLayout.flagDeflated : knownFlags) != 0 {
            return .invalidField(field: "\(field) flags", value: "0x" + String(raw.flags, radix: 16),
                                 rule: logged ? "only bits 0-4 are defined" : "only bits 0-3 are defined in version 1")
        }
        if Int32(bitPattern: raw.pid) <= 0 {
            return .invalidField(field: "\(field) pid", value: "\(Int32(bitPattern: raw.pid))", rule: "must be positive")
        }
        if Int32(bitPattern: raw.parent_pid) < 0 {
            return .invalidField(field: "\(field) parent_pid", value: "\(Int32(bitPattern: raw.parent_pid))", rule: "must not be negative")
        }
        if raw.epoch < 1 || raw.epoch > UInt64(UInt32.max) {
            return .invalidField(field: "\(field) epoch", value: "\(raw.epoch)", rule: "must be between 1 and \(UInt32.max)")
        }
        if raw.start_ns > raw.monotonic_ns {
            return .invalidField(field: "\(field) start_ns", value: "\(raw.start_ns)",
                                rule: "must not be after the dump's monotonic_ns \(raw.monotonic_ns)")
        }
        if raw.rate < 1 || raw.rate > maxRate {
            return .invalidField(field: "\(field) rate", value: "\(raw.rate)", rule: "must be between 1 and \(maxRate)")
        }
        if raw.max_depth < 1 || raw.max_depth > maxDepth {
            return .invalidField(field: "\(field) max_depth", value: "\(raw.max_depth)", rule: "must be between 1 and \(maxDepth)")
        }
        return nil
    }

    static func check(_ raw: RawAttach, header: DumpHeader) -> DumpError.Problem? {
        if raw.attached_wall_ns == 0 {
            return .invalidField(field: "ATTACH attached_wall_ns", value: "0", rule: "must be set")
        }
        if raw.detached_wall_ns != 0 && raw.detached_wall_ns < raw.attached_wall_ns {
            return .invalidField(field: "ATTACH detached_wall_ns", value: "\(raw.detached_wall_ns)",
                                 rule: "must not be before attached_wall_ns \(raw.attached_wall_ns)")
        }
        if raw.flags & ~DumpLayout.attachHeapKnown != 0 {
            return .invalidField(field: "ATTACH flags", value: "0x" + String(raw.flags, radix: 16), rule: "only bit 0 is defined")
        }
        return nil
    }

    static func check(_ raw: RawScan, header: DumpHeader) -> DumpError.Problem? {
        let known = DumpLayout.scanLive | DumpLayout.scanAsked | DumpLayout.scanDone
        if raw.flags & ~known != 0 {
            return .invalidField(field: "SCAN flags", value: "0x" + String(raw.flags, radix: 16), rule: "only bits 0-2 are defined")
        }
        if UInt64(raw.epoch) > header.epoch {
            return .invalidField(field: "SCAN epoch", value: "\(raw.epoch)", rule: "must not be after the dump's epoch \(header.epoch)")
        }
        if UInt64(raw.epoch) == header.epoch && (raw.flags & DumpLayout.scanDone != 0) != header.isScanned {
            return .invalidField(field: "SCAN flags", value: "0x" + String(raw.flags, radix: 16),
                                 rule: "a scan of this dump is done exactly when the header says scanned (\(header.isScanned))")
        }
        if raw.pause_ns > raw.duration_ns {
            return .invalidField(field: "SCAN pause_ns", value: "\(raw.pause_ns)", rule: "must not exceed duration_ns \(raw.duration_ns)")
        }
        return nil
    }

    static func check(_ raw: RawSegment, module: Int) -> DumpError.Problem? {
        if raw.start > raw.end {
            return .invalidField(field: "MODULES module \(module) segment start", value: hex(raw.start),
                                rule: "must not be above its end \(hex(raw.end))")
        }
        return nil
    }

    static func check(_ raw: RawStack, index: Int) -> DumpError.Problem? {
        let record = { "STACKS record \(index) (stack \(raw.stack_id))" }  // built only when a rule is broken
        if raw.stack_id == 0 { return .zeroStackID }
        if raw.depth > maxDepth {
            return .invalidField(field: "\(record()) depth", value: "\(raw.depth)", rule: "must be at most \(maxDepth)")
        }
        if let broken = estimate(raw.alloc_objects, "\(record()) alloc_objects") { return broken }
        if let broken = estimate(raw.alloc_bytes, "\(record()) alloc_bytes") { return broken }
        return nil
    }

    static func check(_ raw: RawLive, index: Int, dumpEpoch: UInt64) -> DumpError.Problem? {
        let record = { "LIVE record \(index) (stack \(raw.stack_id))" }  // built only when a rule is broken
        if raw.birth_epoch < 1 || UInt64(raw.birth_epoch) > dumpEpoch {
            return .invalidField(field: "\(record()) birth_epoch", value: "\(raw.birth_epoch)",
                                rule: "must be between 1 and the dump's epoch \(dumpEpoch)")
        }
        return liveFigures(record, raw.live_objects, raw.live_bytes, raw.unref_objects, raw.unref_bytes)
    }

    /// The four estimates of a LIVE or COHORTS record.
    private static func liveFigures(_ record: () -> String, _ liveObjects: Double, _ liveBytes: Double,
                                    _ unrefObjects: Double, _ unrefBytes: Double) -> DumpError.Problem? {
        if let broken = estimate(liveObjects, "\(record()) live_objects") { return broken }
        if let broken = estimate(liveBytes, "\(record()) live_bytes") { return broken }
        if let broken = estimate(unrefObjects, "\(record()) unref_objects") { return broken }
        if let broken = estimate(unrefBytes, "\(record()) unref_bytes") { return broken }
        // The shim adds the same weights into both sums, so the unreferenced part never
        // exceeds the whole (rounding is monotone: no tolerance is needed).
        if unrefObjects > liveObjects {
            return .invalidField(field: "\(record()) unref_objects", value: "\(unrefObjects)",
                                rule: "must not exceed live_objects \(liveObjects)")
        }
        if unrefBytes > liveBytes {
            return .invalidField(field: "\(record()) unref_bytes", value: "\(unrefBytes)",
                                rule: "must not exceed live_bytes \(liveBytes)")
        }
        return nil
    }

    static func check(_ raw: RawCohort, index: Int, dumpEpoch: UInt64) -> DumpError.Problem? {
        let record = { "COHORTS record \(index) (stack \(raw.stack_id))" }  // built only when a rule is broken
        if raw.birth_first < 1 || UInt64(raw.birth_last) > dumpEpoch || raw.birth_first > raw.birth_last {
            return .invalidField(field: "\(record()) birth_first..birth_last", value: "\(raw.birth_first)..\(raw.birth_last)",
                                rule: "must lie between 1 and the dump's epoch \(dumpEpoch)")
        }
        // The ranking re-keys cohorts of earlier dumps into later ones: they must be the
        // aligned blocks sw_cohort_of gives, or they would not nest.
        let cohort = Cohort.of(birth: raw.birth_first, epoch: UInt32(dumpEpoch))
        if cohort != raw.birth_first...raw.birth_last {
            return .invalidField(field: "\(record()) birth_first..birth_last", value: "\(raw.birth_first)..\(raw.birth_last)",
                                rule: "must be the cohort \(cohort.lowerBound)..\(cohort.upperBound) of sw_cohort_of at epoch \(dumpEpoch)")
        }
        if let broken = liveFigures(record, raw.live_objects, raw.live_bytes, raw.unref_objects, raw.unref_bytes) {
            return broken
        }
        return raw.stack_id == 0 ? .zeroStackID : nil
    }

    /// A SCAN per-stack record: a COHORTS record with birth 0 and figures that agree. (Stacks the
    /// image never logged are left out when the store applies them.)
    static func checkScanSite(_ raw: RawCohort, index: Int) -> DumpError.Problem? {
        let record = { "SCAN record \(index) (stack \(raw.stack_id))" }
        if raw.birth_first != 0 || raw.birth_last != 0 {
            return .invalidField(field: "\(record()) birth_first..birth_last", value: "\(raw.birth_first)..\(raw.birth_last)",
                                 rule: "must be 0..0")
        }
        if let broken = liveFigures(record, raw.live_objects, raw.live_bytes, raw.unref_objects, raw.unref_bytes) {
            return broken
        }
        return raw.stack_id == 0 ? .zeroStackID : nil
    }

    /// A SCAN holder record: a known kind and a stack id. (Holders of stacks the image never
    /// logged are left out when the store applies them.)
    static func checkHolder(_ raw: RawHolder, index: Int) -> DumpError.Problem? {
        if ScanHolder.Kind(code: raw.kind) == nil {
            return .invalidField(field: "SCAN holder \(index) (stack \(raw.stack_id)) kind", value: "\(raw.kind)", rule: "must be 1 to 5")
        }
        return raw.stack_id == 0 ? .zeroStackID : nil
    }

    /// A SCAN path step: it belongs to a holder listed before it.
    static func checkStep(_ raw: RawStep, index: Int, holders: [UInt32: Int]) -> DumpError.Problem? {
        if holders[raw.stack_id] == nil {
            return .invalidField(field: "SCAN step \(index) stack", value: "\(raw.stack_id)", rule: "must be a listed holder's")
        }
        return nil
    }

    /// A SCAN component record: a stack id.
    static func checkComponent(_ raw: RawComponent, index: Int) -> DumpError.Problem? {
        raw.stack_id == 0 ? .zeroStackID : nil
    }

    static func check(_ raw: RawStackFrames, index: Int) -> DumpError.Problem? {
        let record = { "STACKS record \(index) (stack \(raw.stack_id))" }  // built only when a rule is broken
        if raw.stack_id == 0 { return .zeroStackID }
        if raw.depth > maxDepth {
            return .invalidField(field: "\(record()) depth", value: "\(raw.depth)", rule: "must be at most \(maxDepth)")
        }
        return nil
    }

    static func check(_ raw: RawAlloc, index: Int) -> DumpError.Problem? {
        let record = { "ALLOC record \(index) (stack \(raw.stack_id))" }  // built only when a rule is broken
        if let broken = estimate(raw.alloc_objects, "\(record()) alloc_objects") { return broken }
        if let broken = estimate(raw.alloc_bytes, "\(record()) alloc_bytes") { return broken }
        return nil
    }

    static func check(_ raw: RawThreads) -> DumpError.Problem? {
        if raw.flags & ~DumpLayout.threadsFlagTruncated != 0 {
            return .invalidField(field: "THREADS flags", value: hex(UInt64(raw.flags)), rule: "only bit 0 is defined")
        }
        if raw.untracked > raw.tasks {
            return .invalidField(field: "THREADS untracked", value: "\(raw.untracked)",
                                 rule: "must be at most the threads counted in /proc, \(raw.tasks)")
        }
        return nil
    }

    /// MEMORY: the record is the whole body, at least as large as its version's fields.
    static func checkMemorySize(version: UInt32, size: UInt32, body: Int) -> DumpError.Problem? {
        if version < 1 {
            return .invalidField(field: "MEMORY version", value: "\(version)", rule: "must be at least 1")
        }
        if Int(size) != body {
            return .invalidField(field: "MEMORY size", value: "\(size)", rule: "must be the section's length \(body)")
        }
        if Int(size) < DumpLayout.memoryRecordSize {
            return .invalidField(field: "MEMORY size", value: "\(size)",
                                 rule: "must be at least \(DumpLayout.memoryRecordSize) (version 1's fields)")
        }
        return nil
    }

    static func check(_ raw: RawThreadSite, index: Int, previous: UInt32?) -> DumpError.Problem? {
        let record = { "THREADS record \(index) (stack \(raw.stack_id))" }  // built only when a rule is broken
        if let previous, raw.stack_id <= previous {
            return .invalidField(field: "\(record()) stack id", value: "\(raw.stack_id)",
                                 rule: "must be above the previous record's \(previous) (sorted, each once)")
        }
        if raw.running == 0 && raw.exited_unjoined == 0 && raw.stack_bytes != 0 {
            return .invalidField(field: "\(record()) stack_bytes", value: "\(raw.stack_bytes)",
                                 rule: "must be 0 when no thread is running or exited-unjoined")
        }
        if raw.unjoined_bytes > raw.stack_bytes || (raw.exited_unjoined == 0 && raw.unjoined_bytes != 0) {
            return .invalidField(field: "\(record()) unjoined_bytes", value: "\(raw.unjoined_bytes)",
                                 rule: "must be at most stack_bytes \(raw.stack_bytes), and 0 without exited-unjoined threads")
        }
        return nil
    }

    /// MEMORY's version 1 fields: defined bits only (a newer record may define more), an
    /// allocator version 1 knows (a newer one may add some), a figure not taken is 0.
    static func check(_ raw: RawMemory) -> DumpError.Problem? {
        let newer = raw.version > MemoryRecord.version
        if !newer && raw.valid & ~MemoryRecord.knownBits != 0 {
            return .invalidField(field: "MEMORY valid", value: "0x" + String(raw.valid, radix: 16), rule: "only bits 0-8 are defined")
        }
        if !newer && raw.allocator > MemoryRecord.lastAllocator {
            return .invalidField(field: "MEMORY allocator", value: "\(raw.allocator)",
                                 rule: "must be between 0 and \(MemoryRecord.lastAllocator)")
        }
        let taken: [(String, UInt32, UInt64)] = [
            ("rss_bytes", MemoryRecord.rss, raw.rss_bytes), ("file_bytes", MemoryRecord.rss, raw.file_bytes),
            ("anon_bytes", MemoryRecord.anon, raw.anon_bytes), ("in_use_bytes", MemoryRecord.inUse, raw.in_use_bytes),
            ("free_bytes", MemoryRecord.free, raw.free_bytes), ("held_bytes", MemoryRecord.held, raw.held_bytes),
            ("arenas", MemoryRecord.arenas, UInt64(raw.arenas)),
        ]
        for (field, bit, value) in taken where raw.valid & bit == 0 && value != 0 {
            return .invalidField(field: "MEMORY \(field)", value: "\(value)", rule: "must be 0 when its valid bit is clear")
        }
        if raw.allocator == 0 && raw.valid & (MemoryRecord.inUse | MemoryRecord.free | MemoryRecord.held | MemoryRecord.arenas | MemoryRecord.raw) != 0 {
            return .invalidField(field: "MEMORY valid", value: "0x" + String(raw.valid, radix: 16),
                                 rule: "an unknown allocator has no figures")
        }
        return estimate(raw.sampled_live_bytes, "MEMORY sampled_live_bytes")
    }

    /// Estimates are finite, not negative, and at most 2^64.
    private static func estimate(_ value: Double, _ field: @autoclosure () -> String) -> DumpError.Problem? {
        guard value.isFinite, value >= 0, value <= maxEstimate else {
            return .invalidField(field: field(), value: "\(value)", rule: "must be finite, between 0 and 2^64")
        }
        return nil
    }

    private static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}
