// `swheap report`: one table per process, then the stacks of the top suspects.

import SwHeapRanking

public struct ReportTable {
    public var style: ReportStyle
    /// How many suspects get their stack printed, and how many frames of each.
    public var stacksShown = 3
    public var framesShown = 12

    public init(style: ReportStyle) { self.style = style }

    public func render(_ processes: [ProcessReport]) -> String {
        processes.map(render).joined(separator: "\n")
    }

    public func render(_ report: ProcessReport) -> String {
        var out = style.bold("pid \(report.pid)") + (report.parentPID > 0 ? " (parent \(report.parentPID))" : "")
            + ": \(truncated(Self.escapingControls(report.command), 160))\n"
        out += "  \(report.epochCount) epoch(s), \(Quantity.bytes(report.ranking.liveBytes)) live at the last"
        out += report.ranking.timeline.endsWithFinalDump ? " (final dump)\n" : "\n"
        if let note = report.evidenceNote { out += "  note: \(note)\n" }
        if let scan = report.exitScan { out += "  exit scan: \(scan)\n" }
        if report.suppressedCount > 0 {
            out += style.dim("  \(report.suppressedCount) site(s), \(Quantity.bytes(report.suppressedBytes)) live, hidden by suppressions") + "\n"
        }
        guard !report.listed.isEmpty else { return out + "  no suspects and no site holds 1% of the heap\n" }

        let headers = ["#", "verdict", "site", "live", "growth", "unref", "reason"]
        let rows = report.listed.map { v -> [String] in
            ["\(v.rank)", v.suppressedBy == nil ? v.verdict.rawValue : "suppressed", truncated(v.site, 48), Quantity.bytes(v.liveBytes),
             v.verdict == .growing ? Quantity.rate(v.growthBytesPerSecond) : "-",
             v.unreferencedBytes.map { Quantity.bytes($0) } ?? "-", v.reason]
        }
        let padded = Columns([.right, .left, .left, .right, .right, .right, .left]).pad([headers] + rows)
        out += style.bold("  " + padded[0].joined(separator: "  ")) + "\n"
        for (cells, v) in zip(padded.dropFirst(), report.listed) {
            var cells = cells
            cells[1] = style.verdict(v.verdict, text: cells[1])
            out += "  " + cells.joined(separator: "  ") + "\n"
        }

        let stacks = report.listed.filter(\.isSuspect).prefix(stacksShown)
        for v in stacks {
            out += "\n  #\(v.rank) \(style.verdict(v.verdict, text: v.verdict.rawValue)) \(v.site)  score \(Quantity.hundredths(v.score))\n"
            for frame in v.stack.frames.prefix(framesShown) {
                let text = "      " + frame.displayText
                out += (frame.isRuntime ? style.dim(text) : text) + "\n"
            }
            if v.stack.frames.count > framesShown { out += style.dim("      ... \(v.stack.frames.count - framesShown) more") + "\n" }
        }
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
