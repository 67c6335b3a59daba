// Folds the dumps of one process, in epoch order, into a `ProcessHeap`.
// Dumps are added one at a time so a loader never has to hold every decoded file at once.
// Each site's per-epoch figures are appended as series that store only the epochs where they
// change (EpochSeries), and become the Site's series as they are.
// This runs on one thread while other cores decode, so the inner loops work on buffers.

import SwHeapDump

struct ProcessHeapBuilder {
    private let epochCount: Int
    private var heap: ProcessHeap
    private var moduleIndex: [ModuleKey: Int] = [:]

    private var siteIndex: [UInt32: Int] = [:]
    private var stackIDs: [UInt32] = []
    private var frames: [[UInt64]] = []
    /// columns[s] holds site s at every epoch index.
    private var columns: [SiteColumns] = []
    /// The LIVE buckets of each dump, with the site each belongs to.
    private var births: [[(site: Int, cell: LiveCell)]] = []
    /// The SCAN figures of the latest dump that has them.
    private var scanSites: [LiveCell] = []
    private var scanHolders: [ScanHolder] = []
    private var scanComponents: [UInt32: [UInt32]] = [:]

    private struct ModuleKey: Hashable {
        var path: String
        var loadBias: UInt64
    }

    /// One site through all epochs, appended epoch by epoch: the figures of the epoch being
    /// filled wait in `pending` until a later epoch (or `finish`) commits them.
    private struct SiteColumns {
        var allocObjects = EpochSeries(), allocBytes = EpochSeries()
        var liveObjects = EpochSeries(), liveBytes = EpochSeries()
        var unreferencedObjects = EpochSeries(), unreferencedBytes = EpochSeries()
        /// The epoch index `pending` belongs to; -1 before the site's first.
        private var index = -1
        private var pending = LiveCell(birthEpoch: 0, liveObjects: 0, liveBytes: 0)
        private var pendingAllocObjects = 0.0, pendingAllocBytes = 0.0

        /// Makes `epoch` the one being filled. Epochs skipped (a dump that did not list the
        /// stack) keep the cumulative allocation and have nothing live; before the stack first
        /// appeared everything is 0.
        mutating func move(to epoch: Int) {
            guard epoch != index else { return }
            precondition(epoch > index, "epochs arrive in order")
            if index >= 0 { commit(times: 1) }
            let gap = epoch - (index + 1)
            allocObjects.append(pendingAllocObjects, times: gap)
            allocBytes.append(pendingAllocBytes, times: gap)
            liveObjects.append(0, times: gap)
            liveBytes.append(0, times: gap)
            unreferencedObjects.append(0, times: gap)
            unreferencedBytes.append(0, times: gap)
            pending.liveObjects = 0; pending.liveBytes = 0
            pending.unreferencedObjects = 0; pending.unreferencedBytes = 0
            index = epoch
        }

        private mutating func commit(times: Int) {
            allocObjects.append(pendingAllocObjects, times: times)
            allocBytes.append(pendingAllocBytes, times: times)
            liveObjects.append(pending.liveObjects, times: times)
            liveBytes.append(pending.liveBytes, times: times)
            unreferencedObjects.append(pending.unreferencedObjects, times: times)
            unreferencedBytes.append(pending.unreferencedBytes, times: times)
        }

        mutating func setAlloc(objects: Double, bytes: Double, at epoch: Int) {
            move(to: epoch)
            pendingAllocObjects = objects
            pendingAllocBytes = bytes
        }

        mutating func addLive(_ bucket: LiveCell, at epoch: Int) {
            move(to: epoch)
            pending.liveObjects += bucket.liveObjects
            pending.liveBytes += bucket.liveBytes
            pending.unreferencedObjects += bucket.unreferencedObjects
            pending.unreferencedBytes += bucket.unreferencedBytes
        }

        /// Commits the last epoch and pads the series to `count` epochs.
        mutating func finish(count: Int) {
            move(to: count)
            precondition(allocBytes.count == count)
        }
    }

    /// `epochCount` is how many dumps will be added; per-epoch arrays are sized for it up front.
    init(pid: Int32, epochCount: Int) {
        self.epochCount = epochCount
        heap = ProcessHeap(pid: pid, parentPID: 0, executable: "", commandLine: [], rate: 0, maxDepth: 0,
                           epochs: [], files: [], modules: [], sites: [],
                           totals: Array(repeating: EpochTotals(), count: epochCount))
        heap.epochs.reserveCapacity(epochCount)
        heap.memory.reserveCapacity(epochCount)
    }

    /// Adds the next dump; dumps must come in increasing epoch order.
    mutating func add(_ dump: Dump, file: String) {
        let index = heap.epochs.count
        precondition(index < epochCount, "more dumps than announced")
        heap.epochs.append(dump.header)
        heap.memory.append(dump.memory)
        heap.files.append(file)
        heap.threads.append(dump.threads)
        if let scan = dump.header.scan {
            scanSites = dump.scanSites
            scanHolders = dump.scanHolders
            scanComponents = dump.scanComponents
            heap.scan = ProcessScan(record: scan, liveBytes: scanSites.reduce(0) { $0 + $1.liveBytes },
                                    unreferencedBytes: scanSites.reduce(0) { $0 + $1.unreferencedBytes })
        }
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
        columns.withUnsafeMutableBufferPointer { columns in
            dump.stacks.withUnsafeBufferPointer { stacks in
                for (j, site) in stackSites.enumerated() {
                    columns[site].setAlloc(objects: stacks[j].allocObjects, bytes: stacks[j].allocBytes, at: index)
                }
            }
        }

        var totals = heap.totals[index]
        var cells: [(site: Int, cell: LiveCell)] = []
        cells.reserveCapacity(dump.live.count)
        columns.withUnsafeMutableBufferPointer { columns in
            for bucket in dump.live {
                // The reader guarantees every LIVE stack id is listed in STACKS of the same file.
                guard let site = siteIndex[bucket.stackID] else { continue }
                columns[site].addLive(bucket, at: index)
                var cell = bucket
                cell.epochIndex = index
                cells.append((site, cell))
                totals.liveObjects += bucket.liveObjects
                totals.liveBytes += bucket.liveBytes
                totals.unreferencedObjects += bucket.unreferencedObjects
                totals.unreferencedBytes += bucket.unreferencedBytes
            }
        }
        heap.totals[index] = totals
        births.append(cells)
    }

    /// Fills the gaps in cumulative figures, computes allocation totals and makes the sites.
    consuming func build() -> ProcessHeap {
        precondition(heap.epochs.count == epochCount, "fewer dumps than announced")
        var birthsBySite = distributeBirths()
        births = []  // peak memory: the cells now live in birthsBySite
        let n = epochCount
        var allocObjectTotals = [Double](repeating: 0, count: n), allocByteTotals = [Double](repeating: 0, count: n)
        heap.sites.reserveCapacity(stackIDs.count)
        for site in stackIDs.indices {
            var column = SiteColumns()
            swap(&column, &columns[site])  // moved out, so the series below are uniquely held
            column.finish(count: n)
            for (index, (objects, bytes)) in zip(column.allocObjects, column.allocBytes).enumerated() {
                allocObjectTotals[index] += objects
                allocByteTotals[index] += bytes
            }
            var cells: [LiveCell] = []
            swap(&cells, &birthsBySite[site])
            var built = Site(stackID: stackIDs[site], frames: frames[site],
                             allocObjects: column.allocObjects, allocBytes: column.allocBytes,
                             liveObjects: column.liveObjects, liveBytes: column.liveBytes,
                             unreferencedObjects: column.unreferencedObjects,
                             unreferencedBytes: column.unreferencedBytes, births: cells)
            built.sortBirthsIfNeeded()
            heap.sites.append(built)
        }
        for cell in scanSites {
            if let site = siteIndex[cell.stackID] { heap.sites[site].atScan = cell }
        }
        for holder in scanHolders {
            if let site = siteIndex[holder.stackID] { heap.sites[site].heldBy = holder }
        }
        for (stackID, components) in scanComponents {
            if let site = siteIndex[stackID] { heap.sites[site].unreferencedComponents = components }
        }
        for index in 0..<n {
            heap.totals[index].allocObjects += allocObjectTotals[index]
            heap.totals[index].allocBytes += allocByteTotals[index]
        }
        return heap
    }

    private mutating func site(for id: UInt32, frames stackFrames: [UInt64]) -> Int {
        if let existing = siteIndex[id] { return existing }
        siteIndex[id] = stackIDs.count
        stackIDs.append(id)
        frames.append(stackFrames)
        columns.append(SiteColumns())
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
