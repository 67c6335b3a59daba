// Which epochs of each process image HeapStore holds. By default a bounded timeline: the
// retention policy of swheap_format.h (the one SWHEAP_KEEP thins with) applied in memory, so
// a day-long run costs memory by stacks and cohorts, not by epochs.

import SwHeapDump

public enum EpochSelection: Sendable, Equatable {
    /// Per image, the epochs `Cohort.retentionKeeps(epoch, newest, recent)` keeps: all of the
    /// last `recent`, older ones at spacings that double with age, and the first; and `also`.
    case timeline(recent: UInt64, also: Set<UInt64> = [])
    /// Only these epoch numbers of each image, and its newest when `andNewest` or when it has
    /// none of them (what `swheap pprof` needs, and nothing else).
    case epochs(Set<UInt64>, andNewest: Bool)
    /// The newest `count` epochs of each image, and `also`: what the default epoch needs
    /// (`ShownEpoch`: the final dump and the one before it).
    case newest(count: Int, also: Set<UInt64>)

    /// Runs of up to 2 x 32 epochs are held whole (every scenario test is far shorter); a
    /// day of 8,640 epochs keeps about 290.
    public static let recentInMemory: UInt64 = 32
    public static let bounded = EpochSelection.timeline(recent: recentInMemory)
    /// Every epoch (epoch numbers are at most 2^32 - 1, so all are recent).
    public static let all = EpochSelection.timeline(recent: UInt64(UInt32.max))

    /// `files` sorted by `DumpFileName.foldsBefore`; the result keeps that order.
    func select(_ files: [DumpFileName]) -> [DumpFileName] {
        var result: [DumpFileName] = []
        var start = 0
        while start < files.count {
            var end = start + 1
            while end < files.count && files[end].image == files[start].image { end += 1 }
            let image = files[start..<end]
            let newest = image.last!.epoch
            switch self {
            case .timeline(let recent, let also):
                result += image.filter {
                    Cohort.retentionKeeps(epoch: $0.epoch, newest: newest, recent: recent) || also.contains($0.epoch)
                }
            case .epochs(let wanted, let andNewest):
                let chosen = image.filter { wanted.contains($0.epoch) || (andNewest && $0.epoch == newest) }
                result += chosen.isEmpty ? [image.last!] : chosen
            case .newest(let count, let also):
                let cut = image.count - min(max(count, 1), image.count)
                result += image.enumerated().filter { $0.offset >= cut || also.contains($0.element.epoch) }.map(\.element)
            }
            start = end
        }
        return result
    }
}

/// The stack logs of the v2 images being loaded, each replayed forward as its epochs are folded
/// in order, so every log is read once (and a watcher reads only what was appended).
struct LogReplays: Sendable {
    private var logs: [String: StackLog] = [:]

    /// Bytes read from logs so far.
    var bytesRead: UInt64 { logs.values.reduce(0) { $0 + $1.bytesRead } + bytesReadByDropped }
    private var bytesReadByDropped: UInt64 = 0

    /// `dump` (decoded from `file` alone) with the stacks, modules and allocation of its log
    /// at the length it names; a v1 dump as it is.
    mutating func complete(_ dump: Dump, file: DumpFileName) throws(DumpError) -> Dump {
        guard let reference = dump.log else { return dump }
        let path = DumpReader.logPath(reference, besideFile: file.path)
        var log = logs.removeValue(forKey: path) ?? StackLog(path: path)
        if log.length > reference.length {
            // An older epoch than the log has reached (a file that appeared late): replay anew.
            bytesReadByDropped += log.bytesRead
            log = StackLog(path: path)
        }
        defer { logs[path] = log }
        try log.advance(through: reference.length)
        return try log.dump(for: dump, path: file.path)
    }

    /// Forgets logs no listed file names any more.
    mutating func keep(only paths: Set<String>) {
        for path in logs.keys where !paths.contains(path) { forget(path) }
    }

    /// Forgets one log's replay (what it read stays counted).
    mutating func forget(_ path: String) {
        guard let log = logs.removeValue(forKey: path) else { return }
        bytesReadByDropped += log.bytesRead
    }
}
