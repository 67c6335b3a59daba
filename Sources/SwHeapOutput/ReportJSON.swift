// `swheap report --json`: a stable schema (docs/REPORT.md). Keys are sorted so output is
// byte-for-byte reproducible; new keys may be added, existing ones never change meaning.

import Foundation
import SwHeapDump
import SwHeapRanking
import SwHeapSymbols

public enum ReportJSON {
    /// Bumped when a key changes meaning (keys are only ever added within a version).
    /// 2: `stacks` per site (sites aggregate per function and line), `location`, `samples`,
    /// the verdict `too-few-samples`, `roots`, per-process `top_verdict` and `growth_bytes_per_s`.
    /// 3: the verdict and shape `too-few-epochs` (a rise over fewer than 8 epochs is no longer `growing`).
    public static let schemaVersion = 3

    struct Document: Encodable {
        var schema_version: Int
        var processes: [Process]
        var silent_processes: [Silent]
    }

    /// A process that changed user under the profiler and left no dump after that.
    public struct Silent: Encodable, Sendable {
        public var pid: Int32
        public var command: String
        public var from_uid: UInt32
        public var to_uid: UInt32
        public var epoch: UInt64
        public var directory: String
        public var reason: String

        public init(pid: Int32, command: String, from_uid: UInt32, to_uid: UInt32, epoch: UInt64, directory: String, reason: String) {
            self.pid = pid; self.command = command; self.from_uid = from_uid; self.to_uid = to_uid
            self.epoch = epoch; self.directory = directory; self.reason = reason
        }
    }

    struct Process: Encodable {
        var pid: Int32
        var parent_pid: Int32
        var command: String
        var executable: String
        var epochs: Int
        var final: Bool
        var scanned: Bool
        var scan_fallback: String?
        var note: String?
        var live_bytes: Int64
        var suppressed_sites: Int
        var suppressed_bytes: Int64
        var top_verdict: String
        var growth_bytes_per_s: Double
        var roots: [Root]
        var suspects: [Suspect]
        var threads: Threads?
        var attach: Attach?
        var memory: Memory?
        var scan: Scan?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(pid, forKey: .pid); try c.encode(parent_pid, forKey: .parent_pid)
            try c.encodeIfPresent(attach, forKey: .attach)  // only for an attached process
            try c.encode(command, forKey: .command); try c.encode(executable, forKey: .executable)
            try c.encode(epochs, forKey: .epochs); try c.encode(final, forKey: .final)
            try c.encode(scanned, forKey: .scanned); try c.encode(note, forKey: .note)  // null when none
            try c.encode(scan_fallback, forKey: .scan_fallback)
            try c.encode(live_bytes, forKey: .live_bytes)
            try c.encode(suppressed_sites, forKey: .suppressed_sites); try c.encode(suppressed_bytes, forKey: .suppressed_bytes)
            try c.encode(top_verdict, forKey: .top_verdict); try c.encode(growth_bytes_per_s, forKey: .growth_bytes_per_s)
            try c.encode(roots, forKey: .roots)
            try c.encode(suspects, forKey: .suspects)
            try c.encode(threads, forKey: .threads)  // null: the dumps have no thread census
            try c.encode(memory, forKey: .memory)  // null: no dump has a MEMORY record (an older shim)
            try c.encode(scan, forKey: .scan)  // null: no dump carries a SCAN record
        }
        enum Keys: String, CodingKey {
            case pid, parent_pid, command, executable, epochs, final, scanned, scan_fallback, note, live_bytes
            case suppressed_sites, suppressed_bytes, top_verdict, growth_bytes_per_s, roots, suspects, threads, attach, memory, scan
        }
    }

    /// The scan the unreferenced figures come from (or, without verdicts, the try that failed).
    struct Scan: Encodable {
        var kind: String  // "exit" or "live"
        var epoch: UInt64
        var at: String
        var pause_ms: Double
        var duration_s: Double
        var cpu_s: Double
        var asked: Bool
        var verdicts: Bool
        var fallback: String?
    }

    /// What RSS is made of: the verdict, the figures of the dump it rests on, and every dump's
    /// figures. A figure that was not taken is null, never 0.
    struct Memory: Encodable {
        var verdict: String
        var reason: String
        var advice: [String]
        var allocator: String
        var epoch: UInt64
        var figures: MemoryFigures
        var allocator_figures: [String: UInt64]?
        var live_heap_bytes: Int64
        var live_heap_source: String
        var retained_bytes: Int64?
        var retained_estimated: Bool
        var outside_heap_bytes: Int64?
        var heap_growth_bytes_per_s: Double?
        var explained_by_suspects: Double?
        var timeline: [MemoryFigures]

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(verdict, forKey: .verdict); try c.encode(reason, forKey: .reason); try c.encode(advice, forKey: .advice)
            try c.encode(allocator, forKey: .allocator); try c.encode(epoch, forKey: .epoch)
            try figures.encodeFigures(into: &c)
            try c.encode(allocator_figures, forKey: .allocator_figures)
            try c.encode(live_heap_bytes, forKey: .live_heap_bytes); try c.encode(live_heap_source, forKey: .live_heap_source)
            try c.encode(retained_bytes, forKey: .retained_bytes); try c.encode(retained_estimated, forKey: .retained_estimated)
            try c.encode(outside_heap_bytes, forKey: .outside_heap_bytes)
            try c.encode(heap_growth_bytes_per_s, forKey: .heap_growth_bytes_per_s)
            try c.encode(explained_by_suspects, forKey: .explained_by_suspects)
            try c.encode(timeline, forKey: .timeline)
        }
        enum Keys: String, CodingKey {
            case verdict, reason, advice, allocator, epoch, allocator_figures, live_heap_bytes, live_heap_source
            case retained_bytes, retained_estimated, outside_heap_bytes, heap_growth_bytes_per_s, explained_by_suspects, timeline
            case elapsed_s, rss_bytes, anon_bytes, file_bytes, allocator_in_use_bytes, allocator_free_bytes
            case allocator_held_bytes, allocator_arenas, heap_estimate_bytes, mapped_bytes
        }
    }

    /// One dump's memory figures (also the timeline's entries).
    struct MemoryFigures: Encodable {
        var epoch: UInt64
        var elapsed_s: Double
        var rss_bytes: Int64?
        var anon_bytes: Int64?
        var file_bytes: Int64?
        var allocator_in_use_bytes: Int64?
        var allocator_free_bytes: Int64?
        var allocator_held_bytes: Int64?
        var allocator_arenas: Int64?
        var heap_estimate_bytes: Int64

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Memory.Keys.self)
            try c.encode(epoch, forKey: .epoch)
            try encodeFigures(into: &c)
        }

        func encodeFigures(into c: inout KeyedEncodingContainer<Memory.Keys>) throws {
            try c.encode(elapsed_s, forKey: .elapsed_s)
            try c.encode(rss_bytes, forKey: .rss_bytes); try c.encode(anon_bytes, forKey: .anon_bytes)
            try c.encode(file_bytes, forKey: .file_bytes)
            try c.encode(allocator_in_use_bytes, forKey: .allocator_in_use_bytes)
            try c.encode(allocator_free_bytes, forKey: .allocator_free_bytes)
            try c.encode(allocator_held_bytes, forKey: .allocator_held_bytes)
            try c.encode(allocator_arenas, forKey: .allocator_arenas)
            try c.encode(heap_estimate_bytes, forKey: .heap_estimate_bytes)
            // Direct anonymous mappings are not sampled: null, not 0.
            try c.encodeNil(forKey: .mapped_bytes)
        }
    }

    /// The thread census at the last dump, its creation sites and each dump's figures.
    struct Threads: Encodable {
        var running: UInt64
        var exited_unjoined: UInt64
        var stack_bytes: UInt64
        var gone: UInt64
        var before_profiling: UInt32
        var untracked: UInt32
        var truncated: Bool
        var sites: [ThreadSite]
        var timeline: [ThreadEpoch]
    }

    struct ThreadSite: Encodable {
        var site: String
        var stack: [String]
        var stack_id: UInt32
        var stack_ids: [UInt32]
        var running: UInt64
        var exited_unjoined: UInt64
        var gone: UInt64
        var stack_bytes: UInt64
        var unjoined_bytes: UInt64
        var verdict: String
        var reason: String
        var growth_per_s: Double
    }

    struct ThreadEpoch: Encodable {
        var epoch: UInt64
        var running: UInt64
        var exited_unjoined: UInt64
        var stack_bytes: UInt64
    }

    /// `swheap attach`: when profiling began and ended (RFC 3339 UTC), and the heap the
    /// allocator held before it, which no site's figures include.
    struct Attach: Encodable {
        var attached_at: String
        var detached_at: String?
        var heap_before_bytes: UInt64?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(attached_at, forKey: .attached_at)
            try c.encode(detached_at, forKey: .detached_at)  // null while attached
            try c.encode(heap_before_bytes, forKey: .heap_before_bytes)  // null when unknown
        }
        enum Keys: String, CodingKey { case attached_at, detached_at, heap_before_bytes }
    }

    /// Sites growing together under a common caller; `sites` are the members' ranks.
    struct Root: Encodable {
        var caller: String
        var basis: String
        var sites: [Int]
        var score: Double
        var reason: String
        var inuse_bytes: Int64
        var growth_bytes_per_s: Double
        var unreferenced_bytes: Int64?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(caller, forKey: .caller); try c.encode(basis, forKey: .basis)
            try c.encode(sites, forKey: .sites); try c.encode(score, forKey: .score)
            try c.encode(reason, forKey: .reason); try c.encode(inuse_bytes, forKey: .inuse_bytes)
            try c.encode(growth_bytes_per_s, forKey: .growth_bytes_per_s)
            try c.encode(unreferenced_bytes, forKey: .unreferenced_bytes)
        }
        enum Keys: String, CodingKey { case caller, basis, sites, score, reason, inuse_bytes, growth_bytes_per_s, unreferenced_bytes }
    }

    struct Suspect: Encodable {
        var rank: Int
        var site: String
        var stack: [String]
        var verdict: String
        var shape: String
        var suspect: Bool
        var score: Double
        var reason: String
        var inuse_bytes: Int64
        var growth_bytes_per_s: Double
        var growth_epochs: [UInt64]?
        var unreferenced_bytes: Int64?
        var referenced_bytes: Int64?
        var location: String?
        var samples: Double?
        var stacks: [Stack]
        var held_by: [HeldByStep]?
        var held_by_text: String?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(rank, forKey: .rank); try c.encode(site, forKey: .site); try c.encode(stack, forKey: .stack)
            try c.encode(location, forKey: .location); try c.encode(samples, forKey: .samples)
            try c.encode(stacks, forKey: .stacks)
            try c.encode(verdict, forKey: .verdict); try c.encode(shape, forKey: .shape)
            try c.encode(suspect, forKey: .suspect); try c.encode(score, forKey: .score)
            try c.encode(reason, forKey: .reason); try c.encode(inuse_bytes, forKey: .inuse_bytes)
            try c.encode(growth_bytes_per_s, forKey: .growth_bytes_per_s)
            try c.encode(growth_epochs, forKey: .growth_epochs)
            // Explicit nulls: "not scanned" must not read as "0 bytes unreferenced".
            try c.encode(unreferenced_bytes, forKey: .unreferenced_bytes)
            try c.encode(referenced_bytes, forKey: .referenced_bytes)
            try c.encode(held_by, forKey: .held_by)  // null: unreferenced, not scanned, or no root recorded
            try c.encode(held_by_text, forKey: .held_by_text)
        }
        enum Keys: String, CodingKey {
            case rank, site, stack, verdict, shape, suspect, score, reason, inuse_bytes, growth_bytes_per_s, growth_epochs
            case unreferenced_bytes, referenced_bytes, location, samples, stacks, held_by, held_by_text
        }
    }

    /// One step of the shortest path from a root to the site's nearest sampled block: first the
    /// root (global, tls, pthread_key, stack or register), then each heap block ("heap"); blocks
    /// a long path leaves out are one "omitted" step with their count.
    struct HeldByStep: Encodable {
        var kind: String
        var name: String?
        var module: String?
        var thread: UInt32?
        var address: String?
        var site: String?
        var offset: UInt64?
        var size: UInt64?
        var blocks: UInt32?

        static func path(_ held: HeldBy) -> [HeldByStep] {
            var path = [HeldByStep(kind: held.kind.rawValue, name: held.name, module: held.module, thread: held.thread,
                                   address: FunctionName.hexAddress(held.address))]
            for part in held.between {
                switch part {
                case let .omitted(count): path.append(HeldByStep(kind: "omitted", blocks: count))
                case let .block(step): path.append(HeldByStep(kind: "heap", site: step.site, offset: step.offset, size: step.size))
                }
            }
            return path
        }
    }

    /// One call path of a site.
    struct Stack: Encodable {
        var stack_id: UInt32
        var stack: [String]
        var inuse_bytes: Int64
        var unreferenced_bytes: Int64?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(stack_id, forKey: .stack_id); try c.encode(stack, forKey: .stack)
            try c.encode(inuse_bytes, forKey: .inuse_bytes); try c.encode(unreferenced_bytes, forKey: .unreferenced_bytes)
        }
        enum Keys: String, CodingKey { case stack_id, stack, inuse_bytes, unreferenced_bytes }
    }

    /// The JSON text of a report (UTF-8, ends with a newline).
    public static func render(_ processes: [ProcessReport], silent: [Silent] = []) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let document = Document(schema_version: schemaVersion, processes: processes.map(process), silent_processes: silent)
        let data = (try? encoder.encode(document)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func process(_ report: ProcessReport) -> Process {
        let timeline = report.ranking.timeline
        return Process(pid: report.pid, parent_pid: report.parentPID, command: report.command,
                       executable: report.executable, epochs: report.epochCount,
                       final: timeline.endsWithFinalDump, scanned: timeline.isScanned,
                       scan_fallback: report.scanFallback,
                       note: report.evidenceNote, live_bytes: whole(report.ranking.liveBytes),
                       suppressed_sites: report.suppressedCount, suppressed_bytes: whole(report.suppressedBytes),
                       top_verdict: report.topVerdict.rawValue,
                       growth_bytes_per_s: finite((report.growthBytesPerSecond * 10).rounded() / 10),
                       roots: report.ranking.roots.map(root),
                       suspects: report.listed.map { suspect($0, heldBy: report.heldBy[$0.stackID]) },
                       threads: report.ranking.threads.map(threads),
                       attach: report.attach.map { a in
                           Attach(attached_at: AttachInfo.utcText(a.attachedWallNs),
                                  detached_at: a.detachedWallNs.map(AttachInfo.utcText),
                                  heap_before_bytes: a.heapBeforeBytes)
                       },
                       memory: report.memory.map(memory),
                       scan: report.scan.map { s in
                           Scan(kind: s.isLive ? "live" : "exit", epoch: s.epoch, at: AttachInfo.utcText(s.wallNs),
                                pause_ms: (Double(s.pauseNs) / 1e5).rounded() / 10, duration_s: (Double(s.durationNs) / 1e6).rounded() / 1e3,
                                cpu_s: (Double(s.cpuMicroseconds) / 1e3).rounded() / 1e3,
                                asked: s.wasAsked, verdicts: s.fallback == nil, fallback: s.fallback?.description)
                       })
    }

    static func threads(_ t: ThreadRanking) -> Threads {
        Threads(running: t.running, exited_unjoined: t.exitedUnjoined, stack_bytes: t.stackBytes, gone: t.gone,
                before_profiling: t.beforeProfiling, untracked: t.untracked, truncated: t.isTruncated,
                sites: t.sites.map { v in
                    ThreadSite(site: v.site, stack: v.stack.frames.map(\.displayText), stack_id: v.stackID,
                               stack_ids: v.stackIDs, running: v.running, exited_unjoined: v.exitedUnjoined, gone: v.gone,
                               stack_bytes: v.stackBytes, unjoined_bytes: v.unjoinedBytes, verdict: v.verdict.rawValue,
                               reason: v.reason, growth_per_s: finite((v.growthPerSecond * 1000).rounded() / 1000))
                },
                timeline: t.timeline.map {
                    ThreadEpoch(epoch: $0.epoch, running: $0.running, exited_unjoined: $0.exitedUnjoined, stack_bytes: $0.stackBytes)
                })
    }

    static func memory(_ m: MemoryAssessment) -> Memory {
        let p = m.reference.picture
        return Memory(verdict: m.verdict.rawValue, reason: m.reason, advice: m.adviceText, allocator: m.allocator.rawValue,
                      epoch: m.reference.epoch, figures: memoryFigures(m.reference),
                      allocator_figures: p.figures.isEmpty ? nil : Dictionary(p.figures.map { ($0.name, $0.value) },
                                                                               uniquingKeysWith: { a, _ in a }),
                      live_heap_bytes: whole(m.liveHeapBytes), live_heap_source: m.liveHeapSource.rawValue,
                      retained_bytes: m.retainedBytes.map(whole), retained_estimated: m.retainedEstimated,
                      outside_heap_bytes: m.outsideHeapBytes.map(whole),
                      heap_growth_bytes_per_s: m.heapGrowthBytesPerSecond.map { finite(($0 * 10).rounded() / 10) },
                      explained_by_suspects: m.explainedBySuspects.map { finite(($0 * 100).rounded() / 100) },
                      timeline: m.timeline.map(memoryFigures))
    }

    static func memoryFigures(_ s: MemorySample) -> MemoryFigures {
        let p = s.picture
        func bytes(_ value: UInt64?) -> Int64? { value.map { Int64(clamping: $0) } }
        return MemoryFigures(epoch: s.epoch, elapsed_s: finite((s.elapsedSeconds * 1000).rounded() / 1000),
                             rss_bytes: bytes(p.rssBytes), anon_bytes: bytes(p.anonBytes), file_bytes: bytes(p.fileBytes),
                             allocator_in_use_bytes: bytes(p.inUseBytes), allocator_free_bytes: bytes(p.freeBytes),
                             allocator_held_bytes: bytes(p.heldBytes), allocator_arenas: p.arenas.map(Int64.init),
                             heap_estimate_bytes: whole(p.sampledLiveBytes))
    }

    static func root(_ r: LeakRoot) -> Root {
        Root(caller: r.caller, basis: r.basis.rawValue, sites: r.members.map(\.rank), score: finite((r.score * 100).rounded() / 100), reason: r.reason,
             inuse_bytes: whole(r.liveBytes), growth_bytes_per_s: finite((r.growthBytesPerSecond * 10).rounded() / 10),
             unreferenced_bytes: r.unreferencedBytes.map(whole))
    }

    static func suspect(_ v: SiteVerdict, heldBy: HeldBy? = nil) -> Suspect {
        Suspect(rank: v.rank, site: v.site, stack: v.stack.frames.map(\.displayText),
                verdict: v.verdict.rawValue, shape: v.shape.rawValue, suspect: v.isSuspect,
                score: finite((v.score * 100).rounded() / 100), reason: v.reason,
                inuse_bytes: whole(v.liveBytes), growth_bytes_per_s: finite((v.growthBytesPerSecond * 10).rounded() / 10),
                growth_epochs: v.assessment.growthWindow.map { [$0.lowerBound, $0.upperBound] },
                unreferenced_bytes: v.unreferencedBytes.map(whole), referenced_bytes: v.referencedBytes.map(whole),
                location: v.location, samples: v.assessment.peakSamples.map { ($0 * 10).rounded() / 10 },
                stacks: v.stacks.map { child in
                    Stack(stack_id: child.stackID, stack: child.stack.frames.map(\.displayText),
                          inuse_bytes: whole(child.liveBytes), unreferenced_bytes: child.unreferencedBytes.map(whole))
                },
                held_by: heldBy.map(HeldByStep.path), held_by_text: heldBy?.text)
    }

    static func whole(_ value: Double) -> Int64 {
        Int64(saturating: value.isFinite ? value : 0)
    }

    /// JSON has no NaN or infinity (JSONEncoder would refuse the whole report).
    static func finite(_ value: Double) -> Double {
        value.isFinite ? value : 0
    }
}
