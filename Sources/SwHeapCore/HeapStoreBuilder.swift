// Folds the dumps of one process, in epoch order, into a `ProcessHeap`.
// Dumps are added one at a time so a loader never has to hold every decoded file at once.
// This runs on one thread while other cores decode, so the inner loops avoid nested
// array mutation and per-element copies.

struct ProcessHeapBuilder {
    private let epochCount: Int
    private var heap: ProcessHeap
    private var moduleIndex: [ModuleKey: Int] = [:]

    private var siteIndex: [UInt32: Int] = [:]
    private var stackIDs: [UInt32] = []
    private var frames: [[UInt64]] = []
    /// Site-major: the figures of site s at epoch index i are at s * epochCount + i.
    private var figures: [SiteFigures] = []
    /// Every LIVE bucket in load (epoch) order, with the site it belongs to.
    private var births: [(site: Int, cell: BirthCell)] = []

    private struct ModuleKey: Hashable {
        var path: String
        var loadBias: UInt64
    }

    /// What one site says in one dump.
    private struct SiteFigures {
        // NaN marks "not in this dump" until build() fills the gaps.
        var allocObjects = Double.nan
        var allocBytes = Double.nan
        var liveObjects = 0.0
        var liveBytes = 0.0
        var unreferencedObjects = 0.0
        var unreferencedBytes = 0.0

        mutating func addLive(_ bucket: LiveBucket) {
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

        let n = epochCount
        dump.stacks.withUnsafeBufferPointer { stacks in
            for j in stacks.indices {
                let slot = site(for: stacks[j].id, frames: stacks[j].frames) * n + index
                figures[slot].allocObjects = stacks[j].allocObjects
                figures[slot].allocBytes = stacks[j].allocBytes
            }
        }

        var totals = heap.totals[index]
        for bucket in dump.live {
            // The reader guarantees every LIVE stack id is listed in STACKS of the same file.
            guard let site = siteIndex[bucket.stackID] else { continue }
            figures[site * n + index].addLive(bucket)
            births.append((site, BirthCell(epochIndex: index, birthEpoch: bucket.birthEpoch,
                                           liveObjects: bucket.liveObjects, liveBytes: bucket.liveBytes,
                                           unreferencedObjects: bucket.unreferencedObjects,
                                           unreferencedBytes: bucket.unreferencedBytes)))
            totals.liveObjects += bucket.liveObjects
            totals.liveBytes += bucket.liveBytes
            totals.unreferencedObjects += bucket.unreferencedObjects
            totals.unreferencedBytes += bucket.unreferencedBytes
        }
        heap.totals[index] = totals
    }

    /// Fills the gaps in cumulative figures, computes allocation totals and makes the sites.
    consuming func build() -> ProcessHeap {
        precondition(heap.epochs.count == epochCount, "fewer dumps than announced")
        let n = epochCount
        var birthsBySite = distributeBirths()
        heap.sites.reserveCapacity(stackIDs.count)
        for site in stackIDs.indices {
            var columns = Columns(count: n)
            // An epoch whose dump did not list the stack gets 0 before the stack first appeared
            // and the previous cumulative figure after (a stack never un-allocates).
            var objects = 0.0, bytes = 0.0
            for index in 0..<n {
                let figure = figures[site * n + index]
                if !figure.allocBytes.isNaN { objects = figure.allocObjects; bytes = figure.allocBytes }
                columns.allocObjects.append(objects)
                columns.allocBytes.append(bytes)
                columns.liveObjects.append(figure.liveObjects)
                columns.liveBytes.append(figure.liveBytes)
                columns.unreferencedObjects.append(figure.unreferencedObjects)
                columns.unreferencedBytes.append(figure.unreferencedBytes)
                heap.totals[index].allocObjects += objects
                heap.totals[index].allocBytes += bytes
            }
            var built = Site(stackID: stackIDs[site], frames: frames[site],
                             allocObjects: columns.allocObjects, allocBytes: columns.allocBytes,
                             liveObjects: columns.liveObjects, liveBytes: columns.liveBytes,
                             unreferencedObjects: columns.unreferencedObjects,
                             unreferencedBytes: columns.unreferencedBytes, births: [])
            swap(&built.births, &birthsBySite[site])
            built.sortBirthsIfNeeded()
            heap.sites.append(built)
        }
        return heap
    }

    private struct Columns {
        var allocObjects: [Double] = [], allocBytes: [Double] = []
        var liveObjects: [Double] = [], liveBytes: [Double] = []
        var unreferencedObjects: [Double] = [], unreferencedBytes: [Double] = []
        init(count: Int) {
            for column in [\Columns.allocObjects, \.allocBytes, \.liveObjects, \.liveBytes,
                           \.unreferencedObjects, \.unreferencedBytes] {
                self[keyPath: column].reserveCapacity(count)
            }
        }
    }

    private mutating func site(for id: UInt32, frames stackFrames: [UInt64]) -> Int {
        if let existing = siteIndex[id] { return existing }
        let site = stackIDs.count
        siteIndex[id] = site
        stackIDs.append(id)
        frames.append(stackFrames)
        figures.append(contentsOf: repeatElement(SiteFigures(), count: epochCount))
        return site
    }

    /// Splits the flat LIVE list by site, keeping load (epoch) order.
    private func distributeBirths() -> [[BirthCell]] {
        var counts = [Int](repeating: 0, count: stackIDs.count)
        for birth in births { counts[birth.site] += 1 }
        var bySite = counts.map { count -> [BirthCell] in
            var cells: [BirthCell] = []
            cells.reserveCapacity(count)
            return cells
        }
        for birth in births { bySite[birth.site].append(birth.cell) }
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
