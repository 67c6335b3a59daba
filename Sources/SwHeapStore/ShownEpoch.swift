// The epoch a profile shows when none is asked for: the heap as it was while the program ran.
// A program that frees its heap at exit (CPython, C++ destructors, a careful C server) leaves
// an almost empty final dump, so "the last epoch" would show nothing. The rule: the final dump,
// unless it holds less than `teardownShare` of the live bytes of the dump before it (the
// program tore its heap down between them); then that earlier dump, the last one written
// before exit teardown. Not the peak: a leak is judged by where the heap ended up while the
// program still ran, and a transient spike long before exit would hide it.
// `swheap pprof` and `swheap flamegraph` draw it by default (say which, and keep --last and
// --epoch), and the report's live figures are taken there.

public struct ShownEpoch: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The newest dump of a process still running (or killed): its heap as it runs.
        case latest
        /// The final dump, which still holds the heap (no teardown at exit).
        case finalDump
        /// The last dump before the exit teardown; the final dump is `finalIndex`.
        case beforeTeardown(finalIndex: Int)
    }

    /// Index into `ProcessHeap.epochs`.
    public var index: Int
    public var kind: Kind

    public init(index: Int, kind: Kind) {
        self.index = index; self.kind = kind
    }

    /// The final dump holds less than this share of the previous dump's live bytes: torn down.
    public static let teardownShare = 0.5
}

extension ProcessHeap {
    public var shownEpoch: ShownEpoch {
        let last = lastEpochIndex
        guard isFinal else { return ShownEpoch(index: last, kind: .latest) }
        guard last >= 1, totals.count == epochs.count else { return ShownEpoch(index: last, kind: .finalDump) }
        let before = totals[last - 1].liveBytes
        if before > 0 && totals[last].liveBytes < ShownEpoch.teardownShare * before {
            return ShownEpoch(index: last - 1, kind: .beforeTeardown(finalIndex: last))
        }
        return ShownEpoch(index: last, kind: .finalDump)
    }
}
