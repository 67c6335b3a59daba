// How every output names the epoch it shows by default (`ShownEpoch`): pprof's and the flame
// graph's "wrote" line, the report's header, the HTML summary.

import SwHeapStore

public enum ShownEpochText {
    /// "epoch 7, the last dump before exit teardown (the final dump, epoch 8, holds 120 B of
    /// 3.1 MiB)"; "epoch 8, the final dump"; "epoch 8, the latest dump".
    public static func describe(_ process: ProcessHeap, _ shown: ShownEpoch) -> String {
        let number = process.epochs[shown.index].epoch
        switch shown.kind {
        case .latest:
            return "epoch \(number), the latest dump"
        case .finalDump:
            return "epoch \(number), the final dump"
        case .beforeTeardown(let finalIndex):
            let finalBytes = process.totals.indices.contains(finalIndex) ? process.totals[finalIndex].liveBytes : 0
            return "epoch \(number), the last dump before exit teardown (the final dump, epoch "
                + "\(process.epochs[finalIndex].epoch), holds \(Quantity.bytes(finalBytes)) of its "
                + "\(Quantity.bytes(process.totals[shown.index].liveBytes)))"
        }
    }

    /// The same for a command's "wrote" line, with how to get the final dump instead.
    public static func forCommand(_ process: ProcessHeap, _ shown: ShownEpoch) -> String {
        let text = describe(process, shown)
        if case .beforeTeardown = shown.kind { return text + "; --last for the final dump" }
        return text
    }
}
