// One sentence per site that a person can check against the dumps, e.g.
// "live +4.1 MiB/min over 12 epochs, 97% of objects born in epochs 1–6 still alive".

import SwHeapRanking

extension SiteVerdict {
    /// A short reason a person can check against the dumps.
    public var reason: String { ReasonText.reason(for: assessment) }
}

extension LeakRoot {
    /// "3 sites growing together (Parent.init, Child.init, …), +1.2 MiB/s; 3 MiB unreferenced at exit"
    public var reason: String { ReasonText.reason(for: self) }
    /// The finding in one line: "makeCycle: 3 sites growing together, +1.2 MiB/s, 3 MiB unreferenced".
    public var headline: String {
        var text = "\(caller): \(members.count) sites growing together, \(Quantity.rate(growthBytesPerSecond))"
        if let unreferenced = unreferencedBytes { text += ", \(Quantity.bytes(unreferenced)) unreferenced" }
        return text
    }
}

enum ReasonText {
    static func reason(for root: LeakRoot) -> String {
        let names = root.members.prefix(3).map(\.site).joined(separator: ", ") + (root.members.count > 3 ? ", …" : "")
        var text = "\(root.members.count) sites growing together (\(names)) "
        switch root.basis {
        case .caller: text += "under this caller"
        case .holder: text += "held by the same \(root.members.first?.stacks.compactMap(\.heldBy).first?.blocksBetween ?? 0 > 0 ? "block" : "root")"
        case .component: text += "in one unreferenced structure"
        }
        if let unreferenced = root.unreferencedBytes, unreferenced > 0 {
            text += "; \(Quantity.bytes(unreferenced)) unreferenced \(scanPhrase(root.liveScanEpoch))"
        }
        return text
    }

    static func reason(for a: SiteAssessment) -> String {
        var parts: [String] = [shapeReason(a)]
        if let unreferenced = a.unreferencedBytes, unreferenced > 0 {
            parts.append("\(Quantity.bytes(unreferenced)) unreferenced \(scanPhrase(a.liveScanEpoch))")
        }
        return parts.joined(separator: "; ")
    }

    /// When the unreferenced figures were found: "at exit", or "at the live scan of epoch 7".
    static func scanPhrase(_ liveScanEpoch: UInt64?) -> String {
        liveScanEpoch.map { "at the live scan of epoch \($0)" } ?? "at exit"
    }

    private static func shapeReason(_ a: SiteAssessment) -> String {
        let epochs = "\(a.trend?.analysedCount ?? a.epochCount) epochs"
        let rate = Quantity.rate(a.growthBytesPerSecond)
        switch a.shape {
        case .steadyGrowth:
            return joined("live \(rate) over \(epochs)", survival(a))
        case .lateGrowth:
            let since = a.turningEpoch.map { "flat until epoch \($0 - 1), then " } ?? ""
            return joined("\(since)live \(rate)", survival(a))
        case .growthWithTurnover:
            return "live \(rate) over \(epochs) although older objects are freed "
                + "(\(objects(a.liveObjects)) live now: a buffer re-allocated ever larger, or a backlog)"
        case .plateau:
            let by = a.turningEpoch.map { " by epoch \($0)" } ?? ""
            let released = a.survival?.retention.map { ", \(Quantity.percent($0)) of objects born in \(birthRange(a)) still alive" } ?? ""
            return "levelled off at \(Quantity.bytes(a.trend?.lateLevel ?? a.liveBytes))\(by)\(released) (bounded: a cache or pool)"
        case .sawtooth:
            return "filled and released \(a.trend?.drops ?? 0) times, peak \(Quantity.bytes(a.trend?.peakBytes ?? 0))"
        case .oneTime:
            let share = a.survival?.earlyShare.map { Quantity.percent($0) + " of live bytes" } ?? "live bytes"
            return "\(share) allocated in the first epochs, unchanged since (start-up)"
        case .flat:
            return "about \(Quantity.bytes(a.trend?.lateLevel ?? a.liveBytes)) live throughout, no trend"
        case .released:
            return "released (peak \(Quantity.bytes(a.trend?.peakBytes ?? 0)))"
        case .tooFewSamples:
            return tooFewSamples(a)
        case .tooFewEpochs:
            return tooFewEpochs(a)
        case .exitOnly:
            let dumps = a.epochCount == 1 ? "1 dump" : "\(a.epochCount) dumps"
            if a.unreferencedBytes == nil { return "\(Quantity.bytes(a.liveBytes)) live; only \(dumps), not scanned: no trend" }
            return "\(Quantity.bytes(a.liveBytes)) live at exit; only \(dumps): exit-time evidence only"
        }
    }

    /// "too few samples: 3 live at most, 8 needed; --rate 192 KiB or a run 2.7×
    /// as long (if it keeps allocating) would settle it". Samples scale as 1/rate for objects
    /// smaller than the rate, and with duration for a site that keeps allocating.
    static func tooFewSamples(_ a: SiteAssessment) -> String {
        let needed = a.samplesNeeded, samples = a.peakSamples ?? 0
        let count = Int(samples.rounded())
        let head = "too few samples: \(count) live at most, \(Int(needed)) needed"
        guard samples > 0 else { return head }
        let factor = needed / samples
        let rate = max(1, (a.samplingRate / factor).rounded(.down))
        let longer = factor < 10 ? "\((factor * 10).rounded(.up) / 10)" : "\(Int(factor.rounded(.up)))"
        return head + "; --rate \(Int(rate)) (\(Quantity.bytes(rate))) or a run \(longer)× as long"
            + " (if it keeps allocating) would settle it"
    }

    /// "rising over 5 epochs (+2 MiB/s), 81% of objects born in epochs 1–3 still alive: too
    /// few epochs to tell a leak from a cache still filling; 3 more dumps would settle it".
    static func tooFewEpochs(_ a: SiteAssessment) -> String {
        let analysed = a.trend?.analysedCount ?? a.epochCount
        let head = joined("rising over \(analysed) epochs (\(Quantity.rate(a.growthBytesPerSecond)))", survival(a))
        let more = max(1, a.epochsNeeded - analysed)
        return head + ": too few epochs to tell a leak from a cache still filling; "
            + "\(more) more dump\(more == 1 ? "" : "s") would settle it"
    }

    private static func survival(_ a: SiteAssessment) -> String? {
        guard let retention = a.survival?.retention else { return nil }
        return "\(Quantity.percent(retention)) of objects born in \(birthRange(a)) still alive"
    }

    private static func birthRange(_ a: SiteAssessment) -> String {
        guard let range = a.survival?.olderBirthEpochs else { return "early epochs" }
        return range.lowerBound == range.upperBound ? "epoch \(range.lowerBound)" : "epochs \(range.lowerBound)–\(range.upperBound)"
    }

    private static func objects(_ count: Double) -> String {
        let rounded = Int(saturating: count)
        return rounded == 1 ? "1 object" : "\(rounded) objects"
    }

    private static func joined(_ head: String, _ tail: String?) -> String {
        tail.map { "\(head), \($0)" } ?? head
    }
}
