// `swheap report`: one table per process, then the stacks of the top suspects.

import SwHeapRanking
import SwHeapSymbols

public struct ReportTable {
    public var style: ReportStyle
    /// How many suspects get their stack printed, and how many frames of each.
    public var stacksShown = 3
    public var framesShown = 12

    public init(style: ReportStyle) { self.style = style }

    /// One process: its details. Several: one summary line per process first, most important
    /// first, then details only for processes with findings (suspects, or a memory verdict other
    /// than stable) unless `detailsForAll`.
    public func render(_ processes: [ProcessReport], detailsForAll: Bool = false) -> String {
        guard processes.count > 1 else { return processes.map(render).joined(separator: "\n") }
        let ordered = processes.sorted(by: ProcessReport.summaryOrder)
        let detailed = detailsForAll ? ordered : ordered.filter { $0.hasFindings || $0.hasMemoryFinding }
        var out = summary(ordered)
        if detailed.count < ordered.count {
            out += style.dim("\(ordered.count - detailed.count) process(es) without findings not detailed (--all or --pid to see them)") + "\n"
        }
        return ([out] + detailed.map(render)).joined(separator: "\n")
    }

    /// One line per process: pid, epochs, live, growth, top verdict, memory verdict, command.
    func summary(_ processes: [ProcessReport]) -> String {
        let headers = ["pid", "epochs", "live", "growth", "top verdict", "memory", "command"]
        let rows = processes.map { r -> [String] in
            ["\(r.pid)", "\(r.epochCount)", Quantity.bytes(r.ranking.liveBytes),
             r.growthBytesPerSecond > 0 ? Quantity.rate(r.growthBytesPerSecond) : "-",
             r.topVerdict.rawValue, r.memory?.verdict.rawValue ?? "-", truncated(Self.escapingControls(r.command), 80)]
        }
        let padded = Columns([.right, .right, .right, .right, .left, .left, .left]).pad([headers] + rows)
        var out = style.bold("\(processes.count) processes") + "\n"
        out += style.bold("  " + padded[0].joined(separator: "  ")) + "\n"
        for (cells, r) in zip(padded.dropFirst(), processes) {
            var cells = cells
            cells[4] = style.verdict(r.topVerdict, text: cells[4])
            if let memory = r.memory { cells[5] = style.memoryVerdict(memory.verdict, text: cells[5]) }
            out += "  " + cells.joined(separator: "  ") + "\n"
        }
        return out
    }

    public func render(_ report: ProcessReport) -> String {
        var out = style.bold("pid \(report.pid)") + (report.parentPID > 0 ? " (parent \(report.parentPID))" : "")
            + ": \(truncated(Self.escapingControls(report.command), 160))\n"
        out += "  \(report.epochCount) epoch(s), \(Quantity.bytes(report.ranking.liveBytes)) live at "
        out += (report.shownEpoch ?? (report.ranking.timeline.endsWithFinalDump ? "the last (final dump)" : "the last")) + "\n"
        if let note = report.evidenceNote { out += "  note: \(note)\n" }
        if let attach = report.attachNote { out += "  \(attach)\n" }
        if let scan = report.exitScan { out += "  exit scan: \(scan)\n" }
        if let scan = report.liveScan { out += "  live scan: \(scan)\n" }
        if let memory = report.memory { out += self.memory(memory) }
        if report.suppressedCount > 0 {
            out += style.dim("  \(report.suppressedCount) site(s), \(Quantity.bytes(report.suppressedBytes)) live, hidden by suppressions") + "\n"
        }
        guard !report.listed.isEmpty else { return out + "  no suspects and no site holds 1% of the heap\n" + threads(report) }

        // Roots first, each followed by its member sites; then the other listed sites.
        enum Row { case root(Int, LeakRoot), site(SiteVerdict, member: Bool) }
        var rowsToShow: [Row] = []
        let inRoots = Set(report.ranking.roots.flatMap { $0.members.map(\.rank) })
        for (index, root) in report.ranking.roots.enumerated() {
            rowsToShow.append(.root(index + 1, root))
            rowsToShow += root.members.map { .site($0, member: true) }
        }
        rowsToShow += report.listed.filter { !inRoots.contains($0.rank) }.map { .site($0, member: false) }

        // Two sites of one function (two lines of it) would read the same: those show where.
        var siteCounts: [String: Int] = [:]
        for case let .site(v, _) in rowsToShow { siteCounts[v.site, default: 0] += 1 }
        func siteText(_ v: SiteVerdict) -> String {
            guard siteCounts[v.site, default: 0] > 1, let location = v.location else { return v.site }
            return v.site + " " + location
        }
        let headers = ["#", "verdict", "site", "live", "growth", "unref", "reason"]
        let rows = rowsToShow.map { row -> [String] in
            switch row {
            case let .root(index, root):
                return ["R\(index)", Verdict.growing.rawValue, truncated(root.caller, 48), Quantity.bytes(root.liveBytes),
                        Quantity.rate(root.growthBytesPerSecond), root.unreferencedBytes.map { Quantity.bytes($0) } ?? "-",
                        root.reason]
            case let .site(v, member):
                return ["\(v.rank)", v.suppressedBy == nil ? v.verdict.rawValue : "suppressed",
                        (member ? "└ " : "") + truncated(siteText(v), member ? 46 : 48), Quantity.bytes(v.liveBytes),
                        Quantity.growth(v),
                        Quantity.unreferenced(bytes: v.unreferencedBytes, objects: v.unreferencedObjects), v.reason]
            }
        }
        let padded = Columns([.right, .left, .left, .right, .right, .right, .left]).pad([headers] + rows)
        out += style.bold("  " + padded[0].joined(separator: "  ")) + "\n"
        for (cells, row) in zip(padded.dropFirst(), rowsToShow) {
            var cells = cells
            switch row {
            case .root: cells[1] = style.verdict(.growing, text: cells[1]); cells[2] = style.bold(cells[2])
            case let .site(v, _): cells[1] = style.verdict(v.verdict, text: cells[1])
            }
            out += "  " + cells.joined(separator: "  ") + "\n"
        }

        for (index, root) in report.ranking.roots.enumerated() {
            out += "\n  R\(index + 1) \(style.verdict(.growing, text: "growing")) \(style.bold(root.headline))\n"
            for member in root.members {
                out += "      #\(member.rank) \(member.site)" + (member.location.map { " (\($0))" } ?? "") + "\n"
            }
        }
        let stacks = report.listed.filter(\.isSuspect).prefix(stacksShown)
        for v in stacks {
            out += "\n  #\(v.rank) \(style.verdict(v.verdict, text: v.verdict.rawValue)) \(v.site)  score \(Quantity.hundredths(v.score))\n"
            if let held = report.heldBy[v.stackID] { out += "    held by \(held.text)\n" }
            for (index, child) in v.stacks.prefix(stacksShown).enumerated() {
                if v.stacks.count > 1 {
                    out += "    stack \(index + 1) of \(v.stacks.count), \(Quantity.bytes(child.liveBytes)) live:\n"
                }
                out += frames(child.stack)
            }
            if v.stacks.count > stacksShown { out += style.dim("    ... \(v.stacks.count - stacksShown) more stacks") + "\n" }
        }
        return out + threads(report)
    }

    /// How many thread creation sites the Threads block lists (suspects are always listed).
    public var threadSitesShown = 10

    /// The Threads block: totals at the last census, then the creation sites, suspects first,
    /// then the stacks of the suspects. Empty when the dumps have no thread census.
    func threads(_ report: ProcessReport) -> String {
        guard let threads = report.ranking.threads else { return "" }
        var out = "\n" + style.bold("  Threads") + ": \(threads.running) running"
        if threads.untracked > 0 { out += " (\(threads.untracked) before profiling or not from pthread_create)" }
        out += ", \(threads.exitedUnjoined) exited and never joined, \(Quantity.bytes(Double(threads.stackBytes))) of stacks held"
        out += ", \(threads.gone) gone\n"
        if threads.isTruncated { out += style.dim("  the thread census was full: some threads are counted under an unknown stack") + "\n" }
        let shown = threads.sites.enumerated().filter { $0.offset < threadSitesShown || $0.element.verdict.isSuspect }.map(\.element)
        guard !shown.isEmpty else { return out }
        let headers = ["verdict", "site", "running", "unjoined", "gone", "stacks", "reason"]
        let rows = shown.map { v -> [String] in
            [v.verdict.rawValue, truncated(v.site, 40), "\(v.running)", "\(v.exitedUnjoined)", "\(v.gone)",
             Quantity.bytes(Double(v.stackBytes)), v.reason]
        }
        let padded = Columns([.left, .left, .right, .right, .right, .right, .left]).pad([headers] + rows)
        out += style.bold("  " + padded[0].joined(separator: "  ")) + "\n"
        for (cells, v) in zip(padded.dropFirst(), shown) {
            var cells = cells
            cells[0] = style.verdict(Self.colour(v.verdict), text: cells[0])
            out += "  " + cells.joined(separator: "  ") + "\n"
        }
        if threads.sites.count > shown.count {
            out += style.dim("  ... \(threads.sites.count - shown.count) more thread sites") + "\n"
        }
        for v in shown.filter({ $0.verdict.isSuspect && !$0.stack.frames.isEmpty }).prefix(stacksShown) {
            out += "\n  \(style.verdict(Self.colour(v.verdict), text: v.verdict.rawValue)) threads of \(v.site), created at:\n"
            out += frames(v.stack)
        }
        return out
    }

    /// A thread verdict painted like the heap verdict that means the same.
    static func colour(_ verdict: ThreadVerdict) -> Verdict {
        switch verdict {
        case .growing: .growing
        case .neverJoined: .leakedAtExit
        case .plateau: .plateau
        case .sawtooth: .sawtooth
        case .stable: .stable
        case .tooFewEpochs: .tooFewEpochs
        }
    }

    /// The Memory block: the verdict with its reason, the figures, the advice.
    func memory(_ m: MemoryAssessment) -> String {
        var out = "  memory: " + style.memoryVerdict(m.verdict) + ": " + m.reason + "\n"
        out += style.dim("    " + m.figuresText) + "\n"
        for line in m.adviceText { out += "    - " + line + "\n" }
        return out
    }

    private func frames(_ stack: StackNames) -> String {
        var out = ""
        for frame in stack.frames.prefix(framesShown) {
            let text = "      " + frame.displayText
            out += (frame.isRuntime ? style.dim(text) : text) + "\n"
        }
        if stack.frames.count > framesShown { out += style.dim("      ... \(stack.frames.count - framesShown) more") + "\n" }
        return out
    }

    private func truncated(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// A command line on one terminal line: newlines and tabs escaped, other controls as "?".
    static func escapingControls(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f: out += "?"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
