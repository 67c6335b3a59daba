#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The value types every part of swheap shares: what one dump file says, decoded.
// The dump reader produces them, HeapStore aggregates them, outputs read them.

/// One PT_LOAD segment of a loaded object, in absolute addresses.
public struct Segment: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var fileOffset: UInt64
    /// ELF p_flags: 1 = X, 2 = W, 4 = R.
    public var flags: UInt32

    public init(start: UInt64, end: UInt64, fileOffset: UInt64, flags: UInt32) {
        self.start = start; self.end = end; self.fileOffset = fileOffset; self.flags = flags
    }
    public var isExecutable: Bool { flags & 1 != 0 }
}

/// A loaded object (executable, shared library, vdso) as the shim saw it.
public struct Module: Hashable, Sendable {
    /// address = ELF virtual address + loadBias
    public var loadBias: UInt64
    /// The real path of the executable or library; `Module.vdsoPath` for the vdso.
    public var path: String
    /// GNU build ID, raw bytes (empty if the object has none).
    public var buildID: [UInt8]
    public var segments: [Segment]

    public init(loadBias: UInt64, path: String, buildID: [UInt8], segments: [Segment]) {
        self.loadBias = loadBias; self.path = path; self.buildID = buildID; self.segments = segments
    }
    /// What the shim writes as the vdso's path (docs/FORMAT.md): it has no file.
    public static let vdsoPath = "[vdso]"

    public var isVDSO: Bool { path == Self.vdsoPath }

    public var buildIDHex: String {
        let digits = Array("0123456789abcdef")
        return String(buildID.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
    public func contains(_ address: UInt64) -> Bool {
        segments.contains { address >= $0.start && address < $0.end }
    }
}

/// A deduplicated stack with its cumulative allocation since process start.
public struct StackRecord: Hashable, Sendable {
    public var id: UInt32
    /// Return addresses, innermost first (subtract 1 to symbolise).
    public var frames: [UInt64]
    public var allocObjects: Double
    public var allocBytes: Double

    public init(id: UInt32, frames: [UInt64], allocObjects: Double, allocBytes: Double) {
        self.id = id; self.frames = frames; self.allocObjects = allocObjects; self.allocBytes = allocBytes
    }
}

/// Live sampled allocations of one stack born in one epoch: a LIVE record of a dump, and the
/// same cell as HeapStore keeps it per site and ranking reads it (the only live-cell type).
public struct LiveCell: Hashable, Sendable {
    public var stackID: UInt32
    /// The epoch number the objects were allocated in: the first of their birth cohort.
    public var birthEpoch: UInt32
    /// The last epoch of the birth cohort (v2 dumps coarsen births with age, `Cohort`);
    /// equal to `birthEpoch` for a single epoch (every v1 cell).
    public var birthLast: UInt32
    /// Which dump saw them: the index into `ProcessHeap.epochs` once loaded into a HeapStore;
    /// 0 in a decoded `Dump`, which is its own only epoch.
    public var epochIndex: Int
    public var liveObjects: Double
    public var liveBytes: Double
    public var unreferencedObjects: Double
    public var unreferencedBytes: Double

    public init(stackID: UInt32 = 0, epochIndex: Int = 0, birthEpoch: UInt32, birthLast: UInt32? = nil,
                liveObjects: Double, liveBytes: Double, unreferencedObjects: Double = 0, unreferencedBytes: Double = 0) {
        self.stackID = stackID; self.epochIndex = epochIndex; self.birthEpoch = birthEpoch
        self.birthLast = birthLast ?? birthEpoch
        self.liveObjects = liveObjects; self.liveBytes = liveBytes
        self.unreferencedObjects = unreferencedObjects; self.unreferencedBytes = unreferencedBytes
    }
}

/// The header of one dump file. Built in memory it defaults to version 1, the self-contained
/// layout a `Dump` mirrors (LoggedDumpWriter writes version 2).
public struct DumpHeader: Hashable, Sendable {
    public var version: UInt32
    public var isFinal: Bool
    public var isScanned: Bool
    public var isTruncated: Bool
    /// With `isScanned`: the exit scan traversed the heap from the roots (LeakSanitizer's
    /// rules); without it the conservative fallback ran (unreferenced figures are lower bounds).
    public var heapTraversed: Bool
    /// v2: everything after the header is one zlib stream.
    public var isDeflated: Bool = false
    public var pid: Int32
    public var parentPID: Int32
    public var epoch: UInt64
    public var wallTimeNs: UInt64
    public var monotonicNs: UInt64
    public var startMonotonicNs: UInt64
    public var rate: UInt64
    public var maxDepth: UInt32
    /// With `isScanned` and not `heapTraversed`: why the exit scan fell back (header offset 68,
    /// `SW_FALLBACK_*`; 0 when not recorded).
    public var scanFallback: UInt32 = 0
    /// v2, from the ATTACH section: the shim was attached to the process while it ran
    /// (`swheap attach`); nil for a process started under the shim.
    public var attach: AttachInfo?
    /// v2, from the SCAN section: the scan whose verdicts this dump carries (or one that
    /// failed); nil for a dump no scan was tried in, or written before the section existed.
    public var scan: ScanRecord?

    public init(version: UInt32 = DumpLayout.oldestVersion, isFinal: Bool = false, isScanned: Bool = false, isTruncated: Bool = false,
                heapTraversed: Bool = false, isDeflated: Bool = false, pid: Int32, parentPID: Int32, epoch: UInt64, wallTimeNs: UInt64, monotonicNs: UInt64,
                startMonotonicNs: UInt64, rate: UInt64, maxDepth: UInt32, attach: AttachInfo? = nil) {
        self.version = version; self.isFinal = isFinal; self.isScanned = isScanned; self.isTruncated = isTruncated
        self.heapTraversed = heapTraversed; self.isDeflated = isDeflated
        self.pid = pid; self.parentPID = parentPID; self.epoch = epoch; self.wallTimeNs = wallTimeNs
        self.monotonicNs = monotonicNs; self.startMonotonicNs = startMonotonicNs; self.rate = rate; self.maxDepth = maxDepth
        self.attach = attach
    }
    /// Seconds since the shim started in this process.
    public var elapsedSeconds: Double { Double(monotonicNs &- startMonotonicNs) / 1e9 }
}

/// The SCAN section: a reachability scan, at exit or while the process ran.
public struct ScanRecord: Hashable, Sendable {
    /// CLOCK_REALTIME when it began.
    public var wallNs: UInt64
    /// How long the process's other threads were stopped, and the whole scan.
    public var pauseNs: UInt64
    public var durationNs: UInt64
    /// A live scan (SWHEAP_SCAN_INTERVAL or `swheap scan`), not the exit scan.
    public var isLive: Bool
    /// Asked for by `swheap scan`.
    public var wasAsked: Bool
    /// Why it found no verdicts; nil when it did.
    public var fallback: ScanFallback?
    /// The dump (epoch number) it ran in.
    public var epoch: UInt64
    /// CPU time it took, in µs: the copy's for a live scan, the scanning thread's at exit.
    public var cpuMicroseconds: UInt32

    public init(wallNs: UInt64, pauseNs: UInt64, durationNs: UInt64, isLive: Bool, wasAsked: Bool = false,
                fallback: ScanFallback? = nil, epoch: UInt64, cpuMicroseconds: UInt32 = 0) {
        self.wallNs = wallNs; self.pauseNs = pauseNs; self.durationNs = durationNs
        self.isLive = isLive; self.wasAsked = wasAsked; self.fallback = fallback; self.epoch = epoch
        self.cpuMicroseconds = cpuMicroseconds
    }
}

/// Where the shortest path from the roots to a referenced stack's nearest sampled block begins
/// (a SCAN holder record).
public struct ScanHolder: Hashable, Sendable {
    public enum Kind: String, Sendable {
        case global, stack, tls, register
        case pthreadKey = "pthread_key"
    }
    public var stackID: UInt32
    public var kind: Kind
    /// The thread whose stack, TLS or register holds it; nil for a global.
    public var thread: UInt32?
    /// Heap blocks between the root and the sampled block (0: the root points at it).
    public var blocksBetween: UInt32
    /// The root word's address; for a register, 8 times its number in the saved context.
    public var address: UInt64
    /// Stack or register: a code address in the function whose frame holds the root; TLS: the
    /// variable's address in its module's TLS image; pthread key: the key, or
    /// `ScanHolder.keyBlock` | the first of a block of 32 keys; nil when unknown.
    public var context: UInt64?
    public static let keyBlock: UInt64 = DumpLayout.holderKeyBlock

    /// A pthread key holder's key: the key itself, or in a block of keys, the one whose value
    /// the path's first step is (a block is 32 {sequence, value} pairs of 16 bytes).
    public var pthreadKey: UInt64? {
        guard kind == .pthreadKey, let context else { return nil }
        if context & Self.keyBlock == 0 { return context }
        guard let first = steps.first, first.index == 0, let offset = first.offset else { return nil }
        return (context & ~Self.keyBlock) + offset / 16
    }
    /// The heap blocks between the root and the stack's block, in path order (a long path keeps
    /// its first and last few: see `ScanStep.index`).
    public var steps: [ScanStep]

    public init(stackID: UInt32, kind: Kind, thread: UInt32?, blocksBetween: UInt32, address: UInt64,
                context: UInt64? = nil, steps: [ScanStep] = []) {
        self.stackID = stackID; self.kind = kind; self.thread = thread; self.blocksBetween = blocksBetween; self.address = address
        self.context = context; self.steps = steps
    }
}

/// A heap block on a holder's path (a SCAN step record).
public struct ScanStep: Hashable, Sendable {
    /// The place on the path: 0 is the block the root points into.
    public var index: UInt32
    /// The stack of the sampled object this block is; nil for a block not sampled.
    public var blockStack: UInt32?
    public var address: UInt64
    public var size: UInt64
    /// Where in the block the word pointing at the next block lies; nil when the scan did not
    /// look (its budget for paths was spent).
    public var offset: UInt64?

    public init(index: UInt32, blockStack: UInt32?, address: UInt64, size: UInt64, offset: UInt64?) {
        self.index = index; self.blockStack = blockStack; self.address = address; self.size = size; self.offset = offset
    }
}

/// The ATTACH section: profiling began while the process was already running (`swheap
/// attach`), so the heap it held then is in no site's figures.
public struct AttachInfo: Hashable, Sendable {
    /// CLOCK_REALTIME when the hooks were installed.
    public var attachedWallNs: UInt64
    /// CLOCK_REALTIME of `swheap detach`; nil while still attached.
    public var detachedWallNs: UInt64?
    /// Bytes in use by the allocator at attach (glibc's mallinfo2, jemalloc's stats.allocated);
    /// nil when the allocator does not say.
    public var heapBeforeBytes: UInt64?

    public init(attachedWallNs: UInt64, detachedWallNs: UInt64? = nil, heapBeforeBytes: UInt64? = nil) {
        self.attachedWallNs = attachedWallNs; self.detachedWallNs = detachedWallNs; self.heapBeforeBytes = heapBeforeBytes
    }

    /// An instant as RFC 3339 UTC with milliseconds, "2026-12-07T05:45:12.345Z".
    public static func utcText(_ ns: UInt64) -> String {
        var seconds = time_t(ns / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = Int(ns % 1_000_000_000 / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}

/// One decoded dump file.
public struct Dump: Sendable {
    public var header: DumpHeader
    public var executable: String
    public var commandLine: [String]
    public var modules: [Module]
    public var stacks: [StackRecord]
    /// v1: the LIVE buckets (one birth epoch each); v2: the COHORTS records.
    public var live: [LiveCell]
    /// v2: the stack log this dump uses (nil for a self-contained v1 file).
    public var log: LogReference?
    /// The THREADS section: the thread census at this dump (nil in dumps written before it).
    public var threads: ThreadCensus?
    /// v2: the MEMORY record (nil when the shim that wrote the dump did not take one).
    public var memory: MemoryPicture?
    /// v2, SCAN: per stack, live and unreferenced figures as of `header.scan` (the latest scan
    /// that found verdicts, carried by every later dump); empty without one.
    public var scanSites: [LiveCell] = []
    /// v2, SCAN: per stack that was referenced, where the shortest path to its nearest sampled
    /// block begins; sorted by stack id.
    public var scanHolders: [ScanHolder] = []
    /// v2, SCAN: per stack with unreferenced blocks, the unreferenced components they belong to
    /// (numbers shared by the stacks of one component within this scan); sorted by stack id.
    public var scanComponents: [UInt32: [UInt32]] = [:]

    public init(header: DumpHeader, executable: String, commandLine: [String], modules: [Module],
                stacks: [StackRecord], live: [LiveCell], log: LogReference? = nil, threads: ThreadCensus? = nil,
                memory: MemoryPicture? = nil) {
        self.header = header; self.executable = executable; self.commandLine = commandLine
        self.modules = modules; self.stacks = stacks; self.live = live; self.log = log; self.threads = threads
        self.memory = memory
    }
}

/// The LOG section of a v2 epoch file: which stack log it uses and how much of it.
public struct LogReference: Hashable, Sendable {
    /// The log's file name, in the epoch file's directory.
    public var name: String
    /// Bytes of the log this dump uses: the end of its own chunk.
    public var length: UInt64

    public init(name: String, length: UInt64) { self.name = name; self.length = length }
}

/// The threads of one creation stack at one dump (a THREADS record). Counts are exact: every
/// thread creation is recorded, none is sampled.
public struct ThreadSiteCount: Hashable, Sendable {
    /// The creation stack (a stack of the log); 0: unknown (the shim's tables were full).
    public var stackID: UInt32
    public var running: UInt64
    /// Ended, joinable and never joined: each keeps its stack mapped until pthread_join.
    public var exitedUnjoined: UInt64
    /// Joined, or detached and ended, since the process started.
    public var gone: UInt64
    /// Stack mappings held by the running and exited-unjoined threads.
    public var stackBytes: UInt64
    /// The part of `stackBytes` held by the exited-unjoined threads.
    public var unjoinedBytes: UInt64

    public init(stackID: UInt32, running: UInt64, exitedUnjoined: UInt64, gone: UInt64, stackBytes: UInt64,
                unjoinedBytes: UInt64 = 0) {
        self.stackID = stackID; self.running = running; self.exitedUnjoined = exitedUnjoined
        self.gone = gone; self.stackBytes = stackBytes; self.unjoinedBytes = unjoinedBytes
    }
}

/// The THREADS section of one dump: the process's threads by creation site, and those it
/// could only count.
public struct ThreadCensus: Hashable, Sendable {
    /// Threads in /proc/self/task at the dump (0: unreadable).
    public var tasks: UInt32
    /// Threads when the shim started in this image (the main thread; with attach, every
    /// thread already running; 1 in a forked child).
    public var beforeProfiling: UInt32
    /// Threads alive now that the census did not see created: before profiling, or made by
    /// raw clone. The shim's own threads are not counted.
    public var untracked: UInt32
    /// The census table was full: some threads are counted under stack 0 or not at all.
    public var isTruncated: Bool
    /// Sorted by stack id.
    public var sites: [ThreadSiteCount]

    public init(tasks: UInt32, beforeProfiling: UInt32, untracked: UInt32, isTruncated: Bool = false,
                sites: [ThreadSiteCount]) {
        self.tasks = tasks; self.beforeProfiling = beforeProfiling; self.untracked = untracked
        self.isTruncated = isTruncated; self.sites = sites
    }

    public var running: UInt64 { sites.reduce(0) { $0 &+ $1.running } }
    public var exitedUnjoined: UInt64 { sites.reduce(0) { $0 &+ $1.exitedUnjoined } }
    public var stackBytes: UInt64 { sites.reduce(0) { $0 &+ $1.stackBytes } }
}

/// The allocator underneath a profiled program, whose own figures a MEMORY record holds.
public enum AllocatorKind: String, Hashable, Sendable, CaseIterable, Codable {
    case unknown, glibc, jemalloc, tcmalloc, mimalloc

    /// The record's `allocator` field (SW_ALLOCATOR_*, in this order).
    public init(code: UInt32) {
        self = code < Self.allCases.count ? Self.allCases[Int(code)] : .unknown
    }

    /// The names of the record's `raw` figures, in order (swheap_format.h): the allocator's own.
    public var rawFigureNames: [String] {
        switch self {
        case .unknown: []
        case .glibc: ["arena", "uordblks", "fordblks", "hblkhd", "keepcost", "ordblks", "hblks", "fsmblks"]
        case .jemalloc: ["stats.allocated", "stats.active", "stats.resident", "stats.retained", "stats.mapped",
                         "stats.metadata", "arenas.narenas"]
        case .tcmalloc: ["generic.current_allocated_bytes", "generic.heap_size", "tcmalloc.pageheap_free_bytes",
                         "tcmalloc.pageheap_unmapped_bytes", "tcmalloc.central_cache_free_bytes",
                         "tcmalloc.transfer_cache_free_bytes", "tcmalloc.thread_cache_free_bytes"]
        case .mimalloc: ["current_rss", "peak_rss", "current_commit", "peak_commit", "page_faults"]
        }
    }
}

/// Why a memory picture has no allocator figures.
public enum MissingAllocatorFigures: String, Hashable, Sendable {
    /// The allocator is not one swheap knows, or keeps no statistics.
    case noStatistics = "no-statistics"
    /// Not asked: the exit dump of _exit or quick_exit, which may run in a signal handler.
    case notAsked = "not-asked"
    /// Asked, but no answer within the wait: its locks stayed busy.
    case late
}

/// One of the allocator's own figures, under its own name (mallinfo2's `fordblks`, ...).
public struct AllocatorFigure: Hashable, Sendable {
    public var name: String
    public var value: UInt64
    public init(name: String, value: UInt64) { self.name = name; self.value = value }
}

/// The MEMORY record of a dump (docs/FORMAT.md): the process's memory as the shim's writer saw
/// it at dump time, beside the sampled heap. A figure that was not taken is nil, never 0.
public struct MemoryPicture: Hashable, Sendable {
    /// The record version the shim wrote (this reader reads the fields of version 1).
    public var version: UInt32
    public var allocator: AllocatorKind
    /// Resident set (statm), and its file-backed and shared part.
    public var rssBytes: UInt64?
    public var fileBytes: UInt64?
    /// Resident anonymous memory (smaps_rollup).
    public var anonBytes: UInt64?
    /// The allocator's bytes in blocks handed out and not freed.
    public var inUseBytes: UInt64?
    /// What it holds besides: free blocks and pages it has not returned.
    public var freeBytes: UInt64?
    /// Everything it holds from the system, resident as far as it knows.
    public var heldBytes: UInt64?
    public var arenas: UInt32?
    /// The allocator's figures were not asked for (the exit dump of _exit or quick_exit).
    public var allocatorSkipped: Bool
    /// The allocator was asked but did not answer in time (its locks stayed busy).
    public var allocatorLate: Bool
    /// How long asking the allocator took, ns.
    public var allocatorNs: UInt64
    /// The sampled estimate of the live heap at the same moment.
    public var sampledLiveBytes: Double
    /// The allocator's own figures, named (`AllocatorKind.rawFigureNames`); empty when not taken.
    public var figures: [AllocatorFigure]

    public init(version: UInt32 = 1, allocator: AllocatorKind, rssBytes: UInt64? = nil, fileBytes: UInt64? = nil,
                anonBytes: UInt64? = nil, inUseBytes: UInt64? = nil, freeBytes: UInt64? = nil, heldBytes: UInt64? = nil,
                arenas: UInt32? = nil, allocatorSkipped: Bool = false, allocatorLate: Bool = false, allocatorNs: UInt64 = 0,
                sampledLiveBytes: Double = 0,
                figures: [AllocatorFigure] = []) {
        self.version = version; self.allocator = allocator; self.rssBytes = rssBytes; self.fileBytes = fileBytes
        self.anonBytes = anonBytes; self.inUseBytes = inUseBytes; self.freeBytes = freeBytes; self.heldBytes = heldBytes
        self.arenas = arenas; self.allocatorSkipped = allocatorSkipped; self.allocatorLate = allocatorLate
        self.allocatorNs = allocatorNs
        self.sampledLiveBytes = sampledLiveBytes; self.figures = figures
    }

    /// Whether the allocator's own figures are there (the allocator has statistics and was asked).
    public var hasAllocatorFigures: Bool { heldBytes != nil || inUseBytes != nil }

    /// Why there are no allocator figures; nil when there are.
    public var missingFigures: MissingAllocatorFigures? {
        hasAllocatorFigures ? nil : allocatorSkipped ? .notAsked : allocatorLate ? .late : .noStatistics
    }

    /// A named figure of the allocator's own (`figure("keepcost")`).
    public func figure(_ name: String) -> UInt64? { figures.first { $0.name == name }?.value }
}
