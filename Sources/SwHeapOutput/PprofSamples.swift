// The numbers of a heap profile, before any symbol work: one row per (site, birth epoch).
//
// Why split allocation by birth epoch too: a row's birth epoch b stands for "allocated between
// dump b-1 and dump b", so the row can carry both the bytes allocated in that interval and
// the bytes of that interval still live. Every sample then has a `birth_epoch` label, the
// rows of a site add up to its cumulative allocation, and filtering on the label in pprof
// (-tagfocus) keeps alloc_* and inuse_* consistent instead of zeroing one of them.
//
// With a base epoch (growth view) the rows are differences: alloc covers the intervals after
// the base; inuse is live(epoch) - live(base) per birth epoch, negative where objects that
// already existed at the base were freed since (pprof shows negative values as -diff_base does).

import SwHeapDump
import SwHeapStore

struct PprofSampleRow: Hashable, Sendable {
    /// Index into `ProcessHeap.sites`.
    var siteIndex: Int
    var birthEpoch: UInt64
    var allocObjects: Double
    var allocBytes: Double
    var inuseObjects: Double
    var inuseBytes: Double

    var isZero: Bool {
        roundedValues.allSatisfy { $0 == 0 }
    }

    /// alloc_objects, alloc_space, inuse_objects, inuse_space as pprof stores them.
    var roundedValues: [Int64] {
        [allocObjects, allocBytes, inuseObjects, inuseBytes].map { value in
            Int64(saturating: value.isFinite ? value : 0)
        }
    }
}

enum PprofSamples {
    /// Rows for the dump at `epochIndex`, minus the dump at `baseIndex` when given; rows whose
    /// rounded values are all zero are left out. `allocationFoldedThrough`: the allocation of
    /// every interval up to that epoch index is one row, at its number, as if the epochs
    /// before it were not loaded (`swheap pprof` loads the newest two; a served profile of a
    /// long timeline would otherwise have a row per site and interval: millions).
    static func rows(for process: ProcessHeap, epochIndex: Int, baseIndex: Int? = nil,
                     allocationFoldedThrough: Int? = nil) -> [PprofSampleRow] {
        let epochNumbers = process.epochs.map(\.epoch)
        var rows: [PprofSampleRow] = []
        for (siteIndex, site) in process.sites.enumerated() {
            var byBirth: [UInt64: PprofSampleRow] = [:]
            func update(_ birth: UInt64, _ change: (inout PprofSampleRow) -> Void) {
                var row = byBirth[birth] ?? PprofSampleRow(siteIndex: siteIndex, birthEpoch: birth,
                                                           allocObjects: 0, allocBytes: 0, inuseObjects: 0, inuseBytes: 0)
                change(&row)
                byBirth[birth] = row
            }
            // Allocation during each dump interval after the base, up to the epoch. Epochs
            // missing from the directory fold into the next dump's interval, whose number
            // is the birth epoch its allocations would carry at the latest.
            let firstInterval = (baseIndex ?? -1) + 1
            let folded = allocationFoldedThrough.map { min(max($0, firstInterval), epochIndex) }
            if firstInterval <= epochIndex {
                for index in (folded ?? firstInterval)...epochIndex {
                    let start = index == folded ? firstInterval : index
                    let before = start > 0 ? cumulative(site.allocObjects, start - 1) : 0
                    let beforeBytes = start > 0 ? cumulative(site.allocBytes, start - 1) : 0
                    let objects = cumulative(site.allocObjects, index) - before
                    let bytes = cumulative(site.allocBytes, index) - beforeBytes
                    if objects != 0 || bytes != 0 {
                        update(epochNumbers[index]) { $0.allocObjects += objects; $0.allocBytes += bytes }
                    }
                }
            }
            for cell in site.births(at: epochIndex) {
                update(UInt64(cell.birthEpoch)) { $0.inuseObjects += cell.liveObjects; $0.inuseBytes += cell.liveBytes }
            }
            if let baseIndex {
                for cell in site.births(at: baseIndex) {
                    update(UInt64(cell.birthEpoch)) { $0.inuseObjects -= cell.liveObjects; $0.inuseBytes -= cell.liveBytes }
                }
            }
            rows += byBirth.values.filter { !$0.isZero }.sorted { $0.birthEpoch < $1.birthEpoch }
        }
        return rows
    }

    private static func cumulative(_ values: EpochSeries, _ index: Int) -> Double {
        let value = values[index]
        return value.isFinite ? value : 0
    }
}
