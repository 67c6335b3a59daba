// The memory verdict in words: one sentence with the figures it rests on, the figures
// themselves, and advice that fits the verdict and the allocator (README, "Memory").

import SwHeapDump
import SwHeapRanking

extension MemoryAssessment {
    /// One sentence a person can check against the figures.
    public var reason: String { MemoryText.reason(self) }
    /// What to do, one line each.
    public var adviceText: [String] { advice.map(MemoryText.advice) }
    /// The figures of the reference dump in one line.
    public var figuresText: String { MemoryText.figures(self) }
}

enum MemoryText {
    static func reason(_ m: MemoryAssessment) -> String {
        let p = m.reference.picture
        let rss = p.rssBytes.map { "RSS \(Quantity.bytes(Double($0)))" } ?? "RSS unknown"
        switch m.verdict {
        case .retention:
            let inUse = m.retainedEstimated ? "\(Quantity.bytes(m.liveHeapBytes)) live (sampled)"
                                            : "\(Quantity.bytes(m.liveHeapBytes)) in use"
            let arenas = p.arenas.map { $0 > 1 ? " in \($0) arenas" : "" } ?? ""
            let share = p.rssBytes.map { $0 > 0 ? Quantity.percent((m.retainedBytes ?? 0) / Double($0)) + " of " : "" } ?? ""
            return "\(share)\(rss) is memory freed but kept: \(p.allocator.rawValue) holds "
                + "\(Quantity.bytes(m.retainedBytes ?? 0)) free\(arenas) for \(inUse); not a leak"
        case .heapGrowth:
            var text = "the live heap grows \(Quantity.rate(m.heapGrowthBytesPerSecond ?? 0)) over the second half of the run "
                + "(\(Quantity.bytes(m.liveHeapBytes)) \(m.liveHeapSource == .allocator ? "in use" : "live, sampled"), \(rss))"
            if let explained = m.explainedBySuspects {
                text += "; the growing suspects explain \(Quantity.percent(explained)) of it"
            }
            return text
        case .notHeap:
            let outside = Quantity.bytes(m.outsideHeapBytes ?? 0)
            if let held = p.heldBytes {
                return "\(outside) of \(rss) lies outside the allocator, which holds \(Quantity.bytes(Double(held)))"
            }
            return "\(outside) of \(rss) is file-backed or shared: not heap"
        case .stable:
            if let held = p.heldBytes {
                let untouched = p.rssBytes.map { held > $0 } ?? false
                    ? " (more than RSS: blocks handed out but never touched are not resident)" : ""
                return "\(rss): the allocator holds \(Quantity.bytes(Double(held)))\(untouched), "
                    + "\(Quantity.bytes(m.liveHeapBytes)) of it \(m.liveHeapSource == .allocator ? "in use" : "live (sampled)"); "
                    + "the live heap does not grow"
            }
            return "\(rss), \(Quantity.bytes(m.liveHeapBytes)) of sampled live heap; the live heap does not grow"
        }
    }

    static func figures(_ m: MemoryAssessment) -> String {
        let p = m.reference.picture
        var parts: [String] = []
        if let rss = p.rssBytes {
            var text = "RSS \(Quantity.bytes(Double(rss)))"
            var inside: [String] = []
            if let anon = p.anonBytes { inside.append("anonymous \(Quantity.bytes(Double(anon)))") }
            if let file = p.fileBytes { inside.append("file/shared \(Quantity.bytes(Double(file)))") }
            if !inside.isEmpty { text += " (" + inside.joined(separator: ", ") + ")" }
            parts.append(text)
        }
        if p.hasAllocatorFigures {
            var held: [String] = []
            if let inUse = p.inUseBytes { held.append("\(Quantity.bytes(Double(inUse))) in use") }
            if let free = p.freeBytes { held.append("\(Quantity.bytes(Double(free))) free") }
            if let total = p.heldBytes { held.append("\(Quantity.bytes(Double(total))) held") }
            if let arenas = p.arenas { held.append("\(arenas) arena\(arenas == 1 ? "" : "s")") }
            parts.append("\(p.allocator.rawValue): " + held.joined(separator: ", "))
        } else {
            parts.append(notAvailable(p.allocator, why: p.missingFigures ?? .noStatistics))
        }
        parts.append("sampled heap \(Quantity.bytes(p.sampledLiveBytes))")
        return parts.joined(separator: "; ") + " (epoch \(m.reference.epoch))"
    }

    /// What the report says when there are no allocator figures; never a made-up number.
    static func notAvailable(_ allocator: AllocatorKind, why: MissingAllocatorFigures) -> String {
        switch why {
        case .noStatistics: "allocator figures: not available (allocator \(allocator.rawValue))"
        case .notAsked: "allocator figures: not taken (the exit dump of _exit or quick_exit does not ask the allocator)"
        case .late: "allocator figures: not taken (\(allocator.rawValue) did not answer within "
            + "\(MemoryRecord.waitMilliseconds) ms: busy threads held its locks)"
        }
    }

    static func advice(_ a: MemoryAdvice) -> String {
        switch a {
        case let .arenaMax(arenas):
            return "MALLOC_ARENA_MAX=2: \(arenas) arenas each keep their own free memory (glibc gives busy threads "
                + "arenas of their own); with 2, threads reuse each other's free memory instead of growing their own"
        case let .trimThreshold(top):
            return "the top of the heap holds \(Quantity.bytes(top)) free: a smaller M_TRIM_THRESHOLD returns it when it is "
                + "freed (MALLOC_TRIM_THRESHOLD_=131072 in the environment, or mallopt(M_TRIM_THRESHOLD, ...))"
        case let .mallocTrim(chunks):
            let spread = chunks.map { " (\(Quantity.count(Double($0))) free chunks)" } ?? ""
            return "malloc_trim(0) after phases that free a lot: it returns the free pages of every arena, "
                + "those between live blocks too\(spread); by itself glibc returns only free memory at the top of a heap"
        case .otherAllocator:
            return "or an allocator that returns free memory over time: jemalloc, tcmalloc or mimalloc "
                + "(try one with LD_PRELOAD)"
        case .jemallocDecay:
            return "MALLOC_CONF=dirty_decay_ms:1000,muzzy_decay_ms:0,background_thread:true returns freed pages within a "
                + "second (by default they wait 10 s, and only allocations move the clock); dirty_decay_ms:0 returns them "
                + "at once, at some cost in page faults; fewer arenas (narenas) keep less"
        case .tcmallocRelease:
            return "TCMALLOC_AGGRESSIVE_DECOMMIT=1 returns free spans as they are freed; "
                + "MallocExtension_ReleaseFreeMemory() (C++: MallocExtension::instance()->ReleaseFreeMemory()) "
                + "returns them at once; a higher TCMALLOC_RELEASE_RATE returns them faster over time"
        case .mimallocPurge:
            return "MIMALLOC_PAGE_RESET=1 MIMALLOC_RESET_DELAY=0 returns freed pages at once (mimalloc 2.0; from 2.1 "
                + "they are purged by themselves after MIMALLOC_PURGE_DELAY); mi_collect(true) after phases that free a lot"
        case let .fixSuspects(sites, explained):
            let names = sites.isEmpty ? "" : ": " + sites.joined(separator: ", ")
            return "the growing sites explain \(Quantity.percent(explained)) of the growth\(names) (listed below)"
        case let .unexplainedGrowth(explained):
            return "the growing suspects explain only \(Quantity.percent(explained)) of the growth: a longer run "
                + "(a trend needs 8 epochs) or a lower SWHEAP_RATE gives the sites more evidence"
        case let .fileBacked(bytes):
            return "\(Quantity.bytes(bytes)) is file-backed or shared: the executable, libraries and mapped files "
                + "(clean pages the kernel can drop); /proc/PID/smaps names them"
        case let .anonymousOutsideHeap(bytes):
            return "\(Quantity.bytes(bytes)) is anonymous memory the allocator does not hold: thread stacks, memory "
                + "mapped directly (mmap), JIT code, or another allocator; /proc/PID/smaps lists the mappings"
        case let .alsoRetention(bytes):
            return "besides, the allocator keeps \(Quantity.bytes(bytes)) free (retention)"
        case let .noAllocatorFigures(allocator, why):
            return notAvailable(allocator, why: why)
        }
    }
}
