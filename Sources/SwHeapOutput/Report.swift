// What `swheap report` shows, independent of how it is rendered (terminal table or JSON).

import Foundation
import SwHeapDump
import SwHeapRanking
import SwHeapStore

/// One process of a report.
public struct ProcessReport: Sendable {
    public var pid: Int32
    public var parentPID: Int32
    public var executable: String
    public var commandLine: [String]
    public var ranking: ProcessRanking
    /// Sites listed: suspects, then notable others; at most `top` suspects.
    public var listed: [SiteVerdict]
    /// Which exit scan produced the unreferenced figures, when there was one.
    public var exitScan: String?
    /// The live scan the unreferenced figures come from (when they do not come from the exit
    /// scan), or why the latest live scan found none.
    public var liveScan: String?
    /// The scan record the latest dump carries (`ProcessHeap.scan`).
    public var scan: ScanRecord?
    /// What holds each listed site that the scan found referenced, by the site's stack id.
    public var heldBy: [UInt32: HeldBy] = [:]
    /// Why the exit scan fell back to the conservative scan, when it did and the shim said.
    public var scanFallback: String?
    /// The epoch the live figures are taken at (`ShownEpochText`), when known.
    public var shownEpoch: String?
    /// The shim was attached to the running process (`swheap attach`).
    public var attach: AttachInfo?
    /// What RSS is made of over the run (the dumps' MEMORY records); nil when no dump has one.
    public var memory: MemoryAssessment?

    /// - Parameter listsEverySite: list every site, suppressed ones included, not only suspects
    ///   and sites holding `RankingThresholds.notableShare` of the heap.
    public init(process: ProcessHeap, ranking: ProcessRanking, top: Int? = nil, listsEverySite: Bool = false) {
        pid = process.pid
        parentPID = process.parentPID
        executable = process.executable
        commandLine = process.commandLine
        self.ranking = ranking
        listed = Self.listing(ranking, top: top, listsEverySite: listsEverySite)
        shownEpoch = process.epochs.isEmpty ? nil : ShownEpochText.describe(process, process.shownEpoch)
        scanFallback = (process.epochs.last?.fallback ?? process.epochs.last?.scanSkipped)?.description
        attach = process.attach
        exitScan = !process.isScanned ? process.epochs.last?.scanSkipped.map { "skipped: \($0.description)" } : process.heapTraversed
            ? "heap traversed from the roots (LeakSanitizer's rules): unreferenced = unreachable"
            : "conservative fallback (\(scanFallback ?? "heap not understood or a thread did not stop")): unreferenced figures are lower bounds"
        scan = process.scan?.record
        heldBy = HeldBy.describe(listed, sites: ranking.sites, process: process)
        if let scan = process.scan, scan.record.isLive {
            liveScan = scan.foundVerdicts ? Self.liveScanText(scan.record) : "failed: \(scan.record.fallback?.description ?? "")"
        }
        memory = MemoryAssessment.assess(process: process, ranking: ranking)
    }

    public init(pid: Int32, parentPID: Int32 = 0, executable: String, commandLine: [String],
                ranking: ProcessRanking, top: Int? = nil, listsEverySite: Bool = false, memory: MemoryAssessment? = nil) {
        self.pid = pid; self.parentPID = parentPID; self.executable = executable
        self.commandLine = commandLine; self.ranking = ranking; self.memory = memory
        listed = Self.listing(ranking, top: top, listsEverySite: listsEverySite)
    }

    /// `top` caps the whole listing; suspects come first so they are never cut before others.
    static func listing(_ ranking: ProcessRanking, top: Int?, listsEverySite: Bool) -> [SiteVerdict] {
        let all = listsEverySite ? ranking.sites : ranking.listed()
        return top.map { Array(all.prefix(max(0, $0))) } ?? all
    }

    /// The command line as one string, or the executable when the command line is unknown.
    /// Trailing spaces and NULs are cut: a program that sets its process title (a server's
    /// "worker process") pads the rest of its argument area with them.
    public var command: String {
        let joined = Self.trimmingPadding(commandLine.joined(separator: " "))
        return joined.isEmpty ? executable : joined
    }

    /// `text` without trailing whitespace and NULs.
    public static func trimmingPadding(_ text: String) -> String {
        var end = text.endIndex
        while end > text.startIndex {
            let before = text.index(before: end)
            guard text[before] == "\0" || text[before].isWhitespace else { break }
            end = before
        }
        return String(text[..<end])
    }

    public var epochCount: Int { ranking.timeline.count }
    /// The verdict of the first unsuppressed site in rank order (suspects first), `stable` if none.
    public var topVerdict: Verdict { ranking.sites.first { $0.suppressedBy == nil }?.verdict ?? .stable }
    /// Growth of the process's growing, unsuppressed sites (bytes per second).
    public var growthBytesPerSecond: Double {
        ranking.suspects.filter { $0.verdict == .growing }.reduce(0) { $0 + $1.growthBytesPerSecond }
    }
    /// Something to look at: a growing or leaked-at-exit site no suppression hides, or a
    /// thread creation site whose threads pile up or are never joined.
    public var hasFindings: Bool { !ranking.suspects.isEmpty || !(ranking.threads?.suspects.isEmpty ?? true) }
    /// A memory verdict worth reading: retention, heap-growth or not-heap.
    public var hasMemoryFinding: Bool { memory.map { $0.verdict != .stable } ?? false }
    public var suppressedCount: Int { ranking.suppressed.count }
    public var suppressedBytes: Double { ranking.suppressed.reduce(0) { $0 + $1.liveBytes } }

    /// Summary order: what matters first. Growing processes (fastest first), then leaked at
    /// exit, then the rest by live bytes; pid breaks ties.
    public static func summaryOrder(_ a: ProcessReport, _ b: ProcessReport) -> Bool {
        func tier(_ r: ProcessReport) -> Int {
            r.growthBytesPerSecond > 0 ? 0 : (r.hasFindings ? 1 : 2)
        }
        if tier(a) != tier(b) { return tier(a) < tier(b) }
        if a.growthBytesPerSecond != b.growthBytesPerSecond { return a.growthBytesPerSecond > b.growthBytesPerSecond }
        if a.ranking.liveBytes != b.ranking.liveBytes { return a.ranking.liveBytes > b.ranking.liveBytes }
        return a.pid < b.pid
    }

    /// For an attached process: when, and how much heap predates attach and so is in no site.
    public var attachNote: String? {
        guard let attach else { return nil }
        var text = "attached at \(Self.readableUTC(attach.attachedWallNs))"
        if let detached = attach.detachedWallNs { text += ", detached at \(Self.readableUTC(detached))" }
        if let before = attach.heapBeforeBytes {
            text += "; \(Quantity.bytes(Double(before))) of heap predates attach (the allocator's figure) and is not attributed to sites"
        } else {
            text += "; the heap that predates attach is not attributed to sites (its size is unknown)"
        }
        return text
    }

    /// "epoch 7, 2026-12-07 05:45:12 UTC (threads paused 4.1 ms, scan 0.19 s), heap traversed from the roots".
    static func liveScanText(_ record: ScanRecord) -> String {
        "epoch \(record.epoch), \(readableUTC(record.wallNs)) (threads paused \(Quantity.milliseconds(record.pauseNs)), "
            + "scan \(record.durationNs < 1_000_000_000 ? Quantity.milliseconds(record.durationNs) : Quantity.seconds(Double(record.durationNs) / 1e9))\(record.wasAsked ? ", asked by swheap scan" : "")): "
            + "heap traversed from the roots (LeakSanitizer's rules); unreferenced figures are as of then"
    }

    /// "2026-12-07 05:45:12 UTC".
    static func readableUTC(_ ns: UInt64) -> String {
        let iso = AttachInfo.utcText(ns)  // 2026-12-07T05:45:12.345Z
        return String(iso.prefix(19)).replacingOccurrences(of: "T", with: " ") + " UTC"
    }

    /// A sentence about what evidence the verdicts rest on, when it is limited.
    public var evidenceNote: String? {
        let timeline = ranking.timeline
        if ranking.isExitOnly {
            return timeline.lastEpochScanned
                ? "only \(timeline.count) dump(s): no trend, verdicts rest on the exit-time scan (leaked-at-exit or stable)"
                : "only \(timeline.count) dump(s) and no exit-time scan: no trend and no leak evidence"
        }
        let evidence = timeline.liveScanEpoch.map { "unreferenced figures from the live scan of epoch \($0)" } ?? "no exit-time scan"
        if !timeline.endsWithFinalDump, attach?.detachedWallNs != nil {
            return "detached while the process ran (swheap detach): \(evidence), trends up to epoch \(timeline.epochNumbers.last ?? 0)"
        }
        if !timeline.endsWithFinalDump {
            return "no final dump (process still running or killed): \(evidence), trends up to epoch \(timeline.epochNumbers.last ?? 0)"
        }
        if !timeline.lastEpochScanned { return "final dump was not scanned: no unreferenced figures" }
        return nil
    }
}
