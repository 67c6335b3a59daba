// `swheap report --json`: a stable schema (docs/REPORT.md). Keys are sorted so output is
// byte-for-byte reproducible; new keys may be added, existing ones never change meaning.

import Foundation
import SwHeapDump
import SwHeapRanking

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
        }
        enum Keys: String, CodingKey {
            case pid, parent_pid, command, executable, epochs, final, scanned, scan_fallback, note, live_bytes
            case suppressed_sites, suppressed_bytes, top_verdict, growth_bytes_per_s, roots, suspects, threads, attach
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
        var sites: [Int]
        var score: Double
        var reason: String
        var inuse_bytes: Int64
        var growth_bytes_per_s: Double
        var unreferenced_bytes: Int64?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(caller, forKey: .caller); try c.encode(sites, forKey: .sites); try c.encode(score, forKey: .score)
            try c.encode(reason, forKey: .reason); try c.encode(inuse_bytes, forKey: .inuse_bytes)
            try c.encode(growth_bytes_per_s, forKey: .growth_bytes_per_s)
            try c.encode(unreferenced_bytes, forKey: .unreferenced_bytes)
        }
        enum Keys: String, CodingKey { case caller, sites, score, reason, inuse_bytes, growth_bytes_per_s, unreferenced_bytes }
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
        }
        enum Keys: String, CodingKey {
            case rank, site, stack, verdict, shape, suspect, score, reason, inuse_bytes, growth_bytes_per_s, growth_epochs
            case unreferenced_bytes, referenced_bytes, location, samples, stacks
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
                       final: timeline.endsWithFinalDump, scanned: timeline.lastEpochScanned,
                       scan_fallback: report.scanFallback,
                       note: report.evidenceNote, live_bytes: whole(report.ranking.liveBytes),
                       suppressed_sites: report.suppressedCount, suppressed_bytes: whole(report.suppressedBytes),
                       top_verdict: report.topVerdict.rawValue,
                       growth_bytes_per_s: finite((report.growthBytesPerSecond * 10).rounded() / 10),
                       roots: report.ranking.roots.map(root),
                       suspects: report.listed.map(suspect),
                       threads: report.ranking.threads.map(threads),
                       attach: report.attach.map { a in
                           Attach(attached_at: AttachInfo.utcText(a.attachedWallNs),
                                  detached_at: a.detachedWallNs.map(AttachInfo.utcText),
                                  heap_before_bytes: a.heapBeforeBytes)
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

    static func root(_ r: LeakRoot) -> Root {
        Root(caller: r.caller, sites: r.members.map(\.rank), score: finite((r.score * 100).rounded() / 100), reason: r.reason,
             inuse_bytes: whole(r.liveBytes), growth_bytes_per_s: finite((r.growthBytesPerSecond * 10).rounded() / 10),
             unreferenced_bytes: r.unreferencedBytes.map(whole))
    }

    static func suspect(_ v: SiteVerdict) -> Suspect {
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
                })
    }

    static func whole(_ value: Double) -> Int64 {
        Int64(saturating: value.isFinite ? value : 0)
    }

    /// JSON has no NaN or infinity (JSONEncoder would refuse the whole report).
    static func finite(_ value: Double) -> Double {
        value.isFinite ? value : 0
    }
}
