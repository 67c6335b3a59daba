// The dump format's constants and record layouts, all from the C header the shim writes with
// (Sources/CSwHeapFormat/include/swheap_format.h): Swift states no tag, flag, size or offset
// of its own. The format is little-endian and so is every host swheap runs on (the header
// asserts it), so records are loaded as the C structs they are.

import CSwHeapFormat

public enum DumpLayout {
    public static let magic: [UInt8] = Array(SW_FORMAT_MAGIC.utf8)
    /// What the shim writes now.
    public static let version: UInt32 = SW_FORMAT_VERSION
    /// Every version from `oldestVersion` through `logVersion` is read; from `logVersion` on a
    /// file uses the stack log (v2).
    public static let oldestVersion: UInt32 = SW_FORMAT_VERSION_OLDEST
    public static let logVersion: UInt32 = SW_FORMAT_VERSION_LOG
    public static let newestReadableVersion: UInt32 = SW_FORMAT_VERSION_LOG
    public static let headerSize = Int(SW_FORMAT_HEADER_SIZE)
    public static let sectionHeaderSize = Int(SW_FORMAT_SECTION_SIZE)

    public static let flagFinal: UInt32 = SW_FLAG_FINAL
    public static let flagScanned: UInt32 = SW_FLAG_SCANNED
    public static let flagTruncated: UInt32 = SW_FLAG_TRUNCATED
    public static let flagReachability: UInt32 = SW_FLAG_REACHABILITY
    public static let flagDeflated: UInt32 = SW_FLAG_DEFLATED

    public static let logMagic: [UInt8] = Array(SW_LOG_MAGIC.utf8)
    public static let logFlagDeflated: UInt32 = SW_LOG_FLAG_DEFLATED
    public static let logHeaderSize = Int(SW_FORMAT_LOG_HEADER_SIZE)
    public static let logChunkSize = Int(SW_FORMAT_LOG_CHUNK_SIZE)

    /// The known section tags.
    public enum Tag: CaseIterable, Sendable {
        case exe, cmdline, modules, stacks, live, log, cohorts, alloc, threads, memory, attach, scan, end

        public var rawValue: UInt32 {
            switch self {
            case .exe: SW_TAG_EXE
            case .cmdline: SW_TAG_CMDLINE
            case .modules: SW_TAG_MODULES
            case .stacks: SW_TAG_STACKS
            case .live: SW_TAG_LIVE
            case .log: SW_TAG_LOG
            case .cohorts: SW_TAG_COHORTS
            case .alloc: SW_TAG_ALLOC
            case .threads: SW_TAG_THREADS
            case .attach: SW_TAG_ATTACH
            case .memory: SW_TAG_MEMORY
            case .scan: SW_TAG_SCAN
            case .end: SW_TAG_END
            }
        }

        public init?(rawValue: UInt32) {
            guard let tag = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = tag
        }

        /// The section's name in docs/FORMAT.md and in error messages.
        public var name: String {
            switch self {
            case .exe: "EXE"
            case .cmdline: "CMDLINE"
            case .modules: "MODULES"
            case .stacks: "STACKS"
            case .live: "LIVE"
            case .log: "LOG"
            case .cohorts: "COHORTS"
            case .alloc: "ALLOC"
            case .threads: "THREADS"
            case .attach: "ATTACH"
            case .memory: "MEMORY"
            case .scan: "SCAN"
            case .end: "END"
            }
        }
    }

    /// Fixed sizes of repeated records, used to reject counts that cannot fit.
    public static let stackRecordSize = UInt64(SW_FORMAT_STACK_SIZE)
    public static let liveRecordSize = UInt64(SW_FORMAT_LIVE_SIZE)
    public static let stackFramesRecordSize = UInt64(SW_FORMAT_STACK_FRAMES_SIZE)
    public static let allocRecordSize = UInt64(SW_FORMAT_ALLOC_SIZE)
    public static let cohortRecordSize = UInt64(SW_FORMAT_COHORT_SIZE)
    public static let threadsSize = UInt64(SW_FORMAT_THREADS_SIZE)
    public static let threadSiteRecordSize = UInt64(SW_FORMAT_THREAD_SITE_SIZE)
    public static let threadsFlagTruncated: UInt32 = SW_THREADS_FLAG_TRUNCATED
    public static let attachRecordSize = UInt64(SW_FORMAT_ATTACH_SIZE)
    public static let attachHeapKnown: UInt32 = SW_ATTACH_HEAP_KNOWN
    public static let memoryRecordSize = Int(SW_FORMAT_MEMORY_SIZE)
    public static let scanRecordSize = UInt64(SW_FORMAT_SCAN_SIZE)
    public static let scanLive: UInt32 = SW_SCAN_LIVE
    public static let scanAsked: UInt32 = SW_SCAN_ASKED
    public static let scanDone: UInt32 = SW_SCAN_DONE
    public static let holderRecordSize = UInt64(SW_FORMAT_HOLDER_SIZE)
    public static let stepRecordSize = UInt64(SW_FORMAT_STEP_SIZE)
    public static let holderKeyBlock = UInt64(SW_HOLDER_KEY_BLOCK)
    public static let stepOffsetUnknown = UInt64(SW_STEP_OFFSET_UNKNOWN)
    public static let componentRecordSize = UInt64(SW_FORMAT_COMPONENT_SIZE)
    static let moduleRecordMinimum = UInt64(SW_FORMAT_MODULE_MINIMUM)
    static let segmentRecordSize = UInt64(SW_FORMAT_SEGMENT_SIZE)
}

/// The C record types under Swift names.
public typealias RawHeader = sw_format_header
public typealias RawSection = sw_format_section
public typealias RawSegment = sw_format_segment
public typealias RawStack = sw_format_stack
public typealias RawLive = sw_format_live
public typealias RawLogHeader = sw_format_log_header
public typealias RawLogChunk = sw_format_log_chunk
public typealias RawStackFrames = sw_format_stack_frames
public typealias RawAlloc = sw_format_alloc
public typealias RawCohort = sw_format_cohort
public typealias RawThreads = sw_format_threads
public typealias RawThreadSite = sw_format_thread_site
public typealias RawAttach = sw_format_attach
public typealias RawMemory = sw_format_memory
public typealias RawScan = sw_format_scan
public typealias RawHolder = sw_format_holder
public typealias RawStep = sw_format_step
public typealias RawComponent = sw_format_component

/// The MEMORY record's constants (swheap_format.h).
public enum MemoryRecord {
    /// The record version this reader knows all fields of; newer records append fields.
    public static let version: UInt32 = SW_MEMORY_VERSION
    public static let rss: UInt32 = SW_MEMORY_RSS
    public static let anon: UInt32 = SW_MEMORY_ANON
    public static let inUse: UInt32 = SW_MEMORY_IN_USE
    public static let free: UInt32 = SW_MEMORY_FREE
    public static let held: UInt32 = SW_MEMORY_HELD
    public static let arenas: UInt32 = SW_MEMORY_ARENAS
    public static let raw: UInt32 = SW_MEMORY_RAW
    public static let skipped: UInt32 = SW_MEMORY_SKIPPED
    public static let late: UInt32 = SW_MEMORY_LATE
    /// How long a dump waits for the allocator's figures, ms.
    public static let waitMilliseconds = Int(SW_MEMORY_WAIT_MS)
    public static let knownBits: UInt32 = SW_MEMORY_KNOWN_BITS
    public static let rawCount = Int(SW_MEMORY_RAW_COUNT)
    public static let lastAllocator: UInt32 = SW_ALLOCATOR_LAST
}

/// Birth cohorts and retention, the policies of swheap_format.h (defined there once, for the
/// shim and the reader).
public enum Cohort {
    /// The cohort (first...last birth epoch) that objects born in `birth` belong to, seen from
    /// dump `epoch`.
    public static func of(birth: UInt32, epoch: UInt32) -> ClosedRange<UInt32> {
        var first: UInt32 = 0, last: UInt32 = 0
        sw_cohort_of(birth, epoch, &first, &last)
        return first...last
    }

    /// Whether the timeline whose newest epoch is `newest` keeps `epoch`, with the `recent`
    /// newest epochs all kept (SWHEAP_KEEP in the shim, the bounded timeline of HeapStore).
    public static func retentionKeeps(epoch: UInt64, newest: UInt64, recent: UInt64) -> Bool {
        sw_retention_keeps(epoch, newest, recent) != 0
    }
}
