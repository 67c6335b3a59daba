// What survival needs from a site's live cells: per birth cohort, the objects first seen
// (soonest after birth) and those still alive at the last analysed epoch. v2 dumps coarsen
// births with age (swheap_format.h, sw_cohort_of), so one object may sit in a single-epoch
// cohort early and in a wide block later. Cohorts nest, so the cells are re-keyed to the
// widest cohort seen (the latest dump's): each is born with what its finest pieces showed at
// their own first sighting. With single-epoch cells (every v1 dump) this is per birth epoch.

import SwHeapDump

struct CohortSightings {
    /// Keyed by the first birth epoch of the widest cohort.
    var firstSeen: [UInt64: (index: Int, objects: Double, bytes: Double)] = [:]
    var aliveAtLast: [UInt64: (objects: Double, bytes: Double)] = [:]

    private struct Key: Hashable, Comparable {
        var first: UInt32
        var last: UInt32
        /// Wider cohorts first among those starting together, so a cohort's pieces follow it.
        static func < (a: Key, b: Key) -> Bool { (a.first, b.last) < (b.first, a.last) }
        func contains(_ other: Key) -> Bool { first <= other.first && other.last <= last }
    }

    init(births: [LiveCell], lastIndex: Int) {
        var seen: [Key: (index: Int, objects: Double, bytes: Double)] = [:]
        var alive: [Key: (objects: Double, bytes: Double)] = [:]
        for cell in births where cell.epochIndex <= lastIndex {
            let key = Key(first: cell.birthEpoch, last: cell.birthLast)
            if let known = seen[key], known.index <= cell.epochIndex {
                if known.index == cell.epochIndex {
                    seen[key]!.objects += cell.liveObjects
                    seen[key]!.bytes += cell.liveBytes
                }
            } else {
                seen[key] = (cell.epochIndex, cell.liveObjects, cell.liveBytes)
            }
            if cell.epochIndex == lastIndex {
                alive[key, default: (0, 0)].objects += cell.liveObjects
                alive[key, default: (0, 0)].bytes += cell.liveBytes
            }
        }
        let keys = seen.keys.sorted()
        // Born per cohort, its pieces first (reverse pre-order): the sum of what its pieces
        // showed, or what the cohort itself showed when that is more (births no piece covers).
        var open: [(key: Key, index: Int, objects: Double, bytes: Double)] = []
        for key in keys.reversed() {
            var pieces = (index: Int.max, objects: 0.0, bytes: 0.0)
            while let top = open.last, key.contains(top.key) {
                open.removeLast()
                pieces = (min(pieces.index, top.index), pieces.objects + top.objects, pieces.bytes + top.bytes)
            }
            let own = seen[key]!
            let born = pieces.objects > own.objects ? (pieces.objects, pieces.bytes) : (own.objects, own.bytes)
            open.append((key, min(own.index, pieces.index), born.0, born.1))
        }
        for widest in open { firstSeen[UInt64(widest.key.first)] = (widest.index, widest.objects, widest.bytes) }
        var widest: Key?
        for key in keys {
            if widest == nil || !widest!.contains(key) { widest = key }
            if let left = alive[key] {
                aliveAtLast[UInt64(widest!.first), default: (0, 0)].objects += left.objects
                aliveAtLast[UInt64(widest!.first), default: (0, 0)].bytes += left.bytes
            }
        }
    }
}
