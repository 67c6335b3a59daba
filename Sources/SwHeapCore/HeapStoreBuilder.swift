// Folds the dumps of one process, in epoch order, into a `ProcessHeap`.
// Dumps are added one at a time so a loader never has to hold every decoded file at once.

struct ProcessHeapBuilder {
    private let epochCount: Int
    private var heap: ProcessHeap
    private var moduleIndex: [ModuleKey: Int] = [:]

    // Per-site figures are kept in flat site-major tables (site * epochCount + epoch) while
    // loading: one level of array instead of millions of nested-array mutations.
    private var siteIndex: [UInt32: Int] = [:]
    private var stackIDs: [UInt32] = []
    private var frames: [[UInt64]] = []
    private var allocObjects: [Double] = []
    private var allocBytes: [Double] = []
    private var liveObjects: [Double] = []
    private var liveBytes: [Double] = []
    private var unreferencedObjects: [Double] = []
    private var unreferencedBytes: [Double] = []
    /// Every LIVE bucket in load order (epoch order), with the site it belongs to.
    private var birthSites: [Int] = []
    private var birthCells: [BirthCell] = []

    private struct ModuleKey: Hashable {
        var path: String
        var loadBias: UInt64
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
        var stackSites: [Int] = []
        stackSites.reserveCapacity(dump.stacks.count)
        for stack in dump.stacks { stackSites.append(site(for: stack)) }
        allocObjects.withUnsafeMutableBufferPointer { objects in
            allocBytes.withUnsafeMutableBufferPointer { bytes in
                for (stack, site) in zip(dump.stacks, stackSites) {
                    objects[site * n + index] = stack.allocObjects
                    bytes[site * n + index] = stack.allocBytes
                }
            }
        }

        var totals = heap.totals[index]
        for bucket in dump.live {
            // The reader guarantees every LIVE stack id is listed in STACKS of the same file.
            guard let site = siteIndex[bucket.stackID] else { continue }
            let slot = site * n + index
            liveObjects[slot] += bucket.liveObjects
            liveBytes[slot] += bucket.liveBytes
            unreferencedObjects[slot] += bucket.unreferencedObjects
            unreferencedBytes[slot] += bucket.unreferencedBytes
            birthSites.append(site)
            birthCells.append(BirthCell(epochIndex: index, birthEpoch: bucket.birthEpoch,
                                        liveObjects: bucket.liveObjects, liveBytes: bucket.liveBytes,
                                        unreferencedObjects: bucket.unreferencedObjects,
                                        unreferencedBytes: bucket.unreferencedBytes))
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
        let siteCount = stackIDs.count
        fillCumulativeGaps(sites: siteCount)
        for site in 0..<siteCount {
            for index in 0..<n {
                heap.totals[index].allocObjects += allocObjects[site * n + index]
                heap.totals[index].allocBytes += allocBytes[site * n + index]
            }
        }
        var births = birthsBySite(sites: siteCount)
        heap.sites.reserveCapacity(siteCount)
        for site in 0..<siteCount {
            let row = site * n ..< (site + 1) * n
            var built = Site(stackID: stackIDs[site], frames: frames[site],
                             allocObjects: Array(allocObjects[row]), allocBytes: Array(allocBytes[row]),
                             liveObjects: Array(liveObjects[row]), liveBytes: Array(liveBytes[row]),
                             unreferencedObjects: Array(unreferencedObjects[row]),
                             unreferencedBytes: Array(unreferencedBytes[row]),
                             births: [])
            swap(&built.births, &births[site])
            built.sortBirthsIfNeeded()
            heap.sites.append(built)
        }
        return heap
    }

    private mutating func site(for stack: StackRecord) -> Int {
        if let existing = siteIndex[stack.id] { return existing }
        let site = stackIDs.count
        siteIndex[stack.id] = site
        stackIDs.append(stack.id)
        frames.append(stack.frames)
        // NaN marks "not in this dump" until build() fills the gaps.
        allocObjects.append(contentsOf: repeatElement(.nan, count: epochCount))
        allocBytes.append(contentsOf: repeatElement(.nan, count: epochCount))
        liveObjects.append(contentsOf: repeatElement(0, count: epochCount))
        liveBytes.append(contentsOf: repeatElement(0, count: epochCount))
        unreferencedObjects.append(contentsOf: repeatElement(0, count: epochCount))
        unreferencedBytes.append(contentsOf: repeatElement(0, count: epochCount))
        return site
    }

    /// An epoch whose dump did not list a stack gets 0 before the stack first appeared and
    /// the previous cumulative figure after (a stack never un-allocates).
    private mutating func fillCumulativeGaps(sites: Int) {
        let n = epochCount
        for site in 0..<sites {
            var objects = 0.0, bytes = 0.0
            for slot in site * n ..< (site + 1) * n {
                if allocBytes[slot].isNaN {
                    allocObjects[slot] = objects
                    allocBytes[slot] = bytes
                } else {
                    objects = allocObjects[slot]
                    bytes = allocBytes[slot]
                }
            }
        }
    }

    /// Distributes the flat LIVE list to its sites, keeping load (epoch) order.
    private func birthsBySite(sites: Int) -> [[BirthCell]] {
        var counts = [Int](repeating: 0, count: sites)
        for site in birthSites { counts[site] += 1 }
        var births = counts.map { count -> [BirthCell] in
            var cells: [BirthCell] = []
            cells.reserveCapacity(count)
            return cells
        }
        for (site, cell) in zip(birthSites, birthCells) { births[site].append(cell) }
        return births
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
