// Folds the dumps of one process, in epoch order, into a `ProcessHeap`.
// Dumps are added one at a time so a loader never has to hold every decoded file at once.
// This runs on one thread while other cores decode, so the inner loops avoid nested
// array mutation and per-element copies.

import SwHeapDump

struct ProcessHeapBuilder {
    private let epochCount: Int
    private var heap: ProcessHeap
    private var moduleIndex: [ModuleKey: Int] = [:]

    private var siteIndex: [UInt32: Int] = [:]
    private var stackIDs: [UInt32] = []
    private var frames: [[UInt64]] = []
    /// Epoch-major: figures[i][s] is site s in the dump at epoch index i; a row only covers the
    /// sites known by then. Each row is allocated once at its final size (no growth copies).
    private var figures: [[SiteFigures]] = []
    /// The LIVE buckets of each dump, with the site each belongs to.
    private var births: [[(site: Int, cell: LiveCell)]] = []

    private struct ModuleKey: Hashable {
        var path: String
        var loadBias: UInt64
    }

    /// What one site says in one dump.
    private struct SiteFigures: Sendable {
        // NaN marks "not in this dump" until build() fills the gaps.
        var allocObjects = Double.nan
        var allocBytes = Double.nan
        var liveObjects = 0.0
        var liveBytes = 0.0
        var unreferencedObjects = 0.0
        var unreferencedBytes = 0.0

        mutating func addLive(_ bucket: LiveCell) {
            liveObjects += bucket.liveObjects
            liveBytes += bucket.liveBytes
            unreferencedObjects += bucket.unreferencedObjects
            unreferencedBytes += bucket.unreferencedBytes
        }
    }

    /// `epochCount` is how many dumps will be added; per-epoch arrays are sized for it up front.
    init(pid: Int32, epochCount: Int) {
        self.epochCount = epochCount
        heap = ProcessHeap(pid: pid, parentPID: 0, executable: "", commandLine: [], rate: 0, maxDepth: 0,
                           epochs: [], files: [], modules: [], sites: [],
                           totals: Array(repeating: EpochTotals(), count: epochCount))
        heap.epochs.reserveCapacity(epochCount)
    }

    /// Adds the next dump; dumps must come in increasing epoch order.
    mutating func add(_ dump: Dump, file: String) {
        let index = heap.epochs.count
        precondition(index < epochCount, "more dumps than announced")
        heap.epochs.append(dump.header)
        heap.files.append(file)
        heap.parentPID = dump.header.parentPID
        heap.rate = dump.header.rate
        heap.maxDepth = dump.header.maxDepth
        heap.executable = dump.executable
        heap.commandLine = dump.commandLine
        addModules(dump.modules)
        heap.totals[index].stackCount = dump.stacks.count

        var stackSites: [Int] = []
        stackSites.reserveCapacity(dump.stacks.count)
        dump.stacks.withUnsafeBufferPointer { stacks in
            for j in stacks.indices { stackSites.append(site(for: stacks[j].id, frames: stacks[j].frames)) }
        }
        var row = [SiteFigures](repeating: SiteFigures(), count: stackIDs.count)
        dump.stacks.withUnsafeBufferPointer { stacks in
            for (j, site) in stackSites.enumerated() {
                row[site].allocObjects = stacks[j].allocObjects
                row[site].allocBytes = stacks[j].allocBytes
            }
        }

        var totals = heap.totals[index]
        var cells: [(site: Int, cell: LiveCell)] = []
        cells.reserveCapacity(dump.live.count)
        for bucket in dump.live {
            // The reader guarantees every LIVE stack id is listed in STACKS of the same file.
            guard let site = siteIndex[bucket.stackID] else { continue }
            row[site].addLive(bucket)
            var cell = bucket
            cell.epochIndex = index
            cells.append((site, cell))
            totals.liveObjects += bucket.liveObjects
            totals.liveBytes += bucket.liveBytes
            totals.unreferencedObjects += bucket.unreferencedObjects
            totals.unreferencedBytes += bucket.unreferencedBytes
        }
        heap.totals[index] = totals
        figures.append(row)
        births.append(cells)
    }

    /// Fills the gaps in cumulative figures, computes allocation totals and makes the sites.
    consuming func build() -> ProcessHeap {
        precondition(heap.epochs.count == epochCount, "fewer dumps than announced")
        let birthsBySite = distributeBirths()
        births = []  // peak memory: the cells now live in birthsBySite
        // Sites are independent: build them in chunks on all cores.
        let n = epochCount, figures = figures, stackIDs = stackIDs, frames = frames
        let chunkCount = stackIDs.count < 4096 ? 1 : 4 * HeapStoreLoader.activeProcessors
        let chunkSize = (stackIDs.count + chunkCount - 1) / max(chunkCount, 1)
        let chunks = concurrentMap(count: chunkCount) { chunk in
            let sites = min(chunk * chunkSize, stackIDs.count) ..< min((chunk + 1) * chunkSize, stackIDs.count)
            return Self.makeSites(sites, epochCount: n, figures: figures, stackIDs: stackIDs,
                                  frames: frames, births: birthsBySite)
        }
        heap.sites.reserveCapacity(stackIDs.count)
        for chunk in chunks {
            heap.sites.append(contentsOf: chunk.sites)
            for index in 0..<n {
                heap.totals[index].allocObjects += chunk.allocObjectTotals[index]
                heap.totals[index].allocBytes += chunk.allocByteTotals[index]
            }
        }
        return heap
    }

    private struct SiteChunk: Sendable {
        var sites: [Site] = []
        var allocObjectTotals: [Double]
        var allocByteTotals: [Double]
    }

    private static func makeSites(_ range: Range<Int>, epochCount n: Int, figures: [[SiteFigures]],
                                  stackIDs: [UInt32], frames: [[UInt64]], births: [[LiveCell]]) -> SiteChunk {
        var chunk = SiteChunk(allocObjectTotals: Array(repeating: 0, count: n),
                              allocByteTotals: Array(repeating: 0, count: n))
        chunk.sites.reserveCapacity(range.count)
        for site in range {
            // Sites not yet known at an epoch read as "not in this dump".
            var column = (0..<n).map { site < figures[$0].count ? figures[$0][site] : SiteFigures() }
            // An epoch whose dump did not list the stack gets 0 before the stack first appeared
            // and the previous cumulative figure after (a stack never un-allocates).
            column.withUnsafeMutableBufferPointer { column in
                var objects = 0.0, bytes = 0.0
                for index in column.indices {
                    if column[index].allocBytes.isNaN {
                        column[index].allocObjects = objects
                        column[index].allocBytes = bytes
                    } else {
                        objects = column[index].allocObjects
                        bytes = column[index].allocBytes
                    }
                    chunk.allocObjectTotals[index] += objects
                    chunk.allocByteTotals[index] += bytes
                }
            }
            var built = Site(stackID: stackIDs[site], frames: frames[site],
                             allocObjects: column.map(\.allocObjects), allocBytes: column.map(\.allocBytes),
                             liveObjects: column.map(\.liveObjects), liveBytes: column.map(\.liveBytes),
                             unreferencedObjects: column.map(\.unreferencedObjects),
                             unreferencedBytes: column.map(\.unreferencedBytes), births: births[site])
            built.sortBirthsIfNeeded()
            chunk.sites.append(built)
        }
        return chunk
    }

    private mutating func site(for id: UInt32, frames stackFrames: [UInt64]) -> Int {
        if let existing = siteIndex[id] { return existing }
        siteIndex[id] = stackIDs.count
        stackIDs.append(id)
        frames.append(stackFrames)
        return stackIDs.count - 1
    }

    /// Splits the LIVE buckets by site, keeping load (epoch) order.
    private func distributeBirths() -> [[LiveCell]] {
        var counts = [Int](repeating: 0, count: stackIDs.count)
        for cells in births {
            for birth in cells { counts[birth.site] += 1 }
        }
        var bySite = counts.map { count -> [LiveCell] in
            var cells: [LiveCell] = []
            cells.reserveCapacity(count)
            return cells
        }
        for cells in births {
            for birth in cells { bySite[birth.site].append(birth.cell) }
        }
        return bySite
    }

    private mutating func addModules(_ modules: [Module]) {
        for module in modules {
            let key = ModuleKey(path: module.path, loadBias: module.loadBias)
            if let existing = moduleIndex[key] {
                heap.modules[existing] = module
            } else {
                moduleIndex[key] = heap.modules.count
                heap.modules.append(module)
            }
        }
    }
}

extension Site {
    /// Cells arrive in epoch order; within an epoch the shim may list birth epochs in any order.
    mutating func sortBirthsIfNeeded() {
        let inOrder = zip(births, births.dropFirst()).allSatisfy {
            ($0.epochIndex, $0.birthEpoch) <= ($1.epochIndex, $1.birthEpoch)
        }
        if !inOrder {
            births.sort { ($0.epochIndex, $0.birthEpoch) < ($1.epochIndex, $1.birthEpoch) }
        }
    }
}
