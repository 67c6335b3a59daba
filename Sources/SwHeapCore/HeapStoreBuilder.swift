// Folds the dumps of one process, in epoch order, into a `ProcessHeap`.
// Dumps are added one at a time so a loader never has to hold every decoded file at once.

struct ProcessHeapBuilder {
    private let epochCount: Int
    private var heap: ProcessHeap
    private var siteIndex: [UInt32: Int] = [:]
    private var moduleIndex: [ModuleKey: Int] = [:]

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
        for stack in dump.stacks {
            let site = siteIndex(for: stack)
            heap.sites[site].allocObjects[index] = stack.allocObjects
            heap.sites[site].allocBytes[index] = stack.allocBytes
        }
        var totals = heap.totals[index]
        for bucket in dump.live {
            // The reader guarantees every LIVE stack id is listed in STACKS of the same file.
            guard let site = siteIndex[bucket.stackID] else { continue }
            heap.sites[site].addLive(bucket, at: index)
            totals.liveObjects += bucket.liveObjects
            totals.liveBytes += bucket.liveBytes
            totals.unreferencedObjects += bucket.unreferencedObjects
            totals.unreferencedBytes += bucket.unreferencedBytes
        }
        heap.totals[index] = totals
    }

    /// Fills the gaps in cumulative figures and computes allocation totals.
    consuming func build() -> ProcessHeap {
        precondition(heap.epochs.count == epochCount, "fewer dumps than announced")
        for site in heap.sites.indices {
            heap.sites[site].fillCumulativeGaps()
            heap.sites[site].sortBirthsIfNeeded()
            for index in 0..<epochCount {
                heap.totals[index].allocObjects += heap.sites[site].allocObjects[index]
                heap.totals[index].allocBytes += heap.sites[site].allocBytes[index]
            }
        }
        return heap
    }

    private mutating func siteIndex(for stack: StackRecord) -> Int {
        if let existing = siteIndex[stack.id] { return existing }
        let notYetSeen = [Double](repeating: .nan, count: epochCount)
        let zeros = [Double](repeating: 0, count: epochCount)
        heap.sites.append(Site(stackID: stack.id, frames: stack.frames,
                               allocObjects: notYetSeen, allocBytes: notYetSeen,
                               liveObjects: zeros, liveBytes: zeros,
                               unreferencedObjects: zeros, unreferencedBytes: zeros, births: []))
        siteIndex[stack.id] = heap.sites.count - 1
        return heap.sites.count - 1
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
    mutating func addLive(_ bucket: LiveBucket, at index: Int) {
        liveObjects[index] += bucket.liveObjects
        liveBytes[index] += bucket.liveBytes
        unreferencedObjects[index] += bucket.unreferencedObjects
        unreferencedBytes[index] += bucket.unreferencedBytes
        births.append(BirthCell(epochIndex: index, birthEpoch: bucket.birthEpoch,
                                liveObjects: bucket.liveObjects, liveBytes: bucket.liveBytes,
                                unreferencedObjects: bucket.unreferencedObjects,
                                unreferencedBytes: bucket.unreferencedBytes))
    }

    /// NaN marks epochs whose dump did not list the stack: 0 before it first appeared,
    /// and the previous cumulative figure after (a stack never un-allocates).
    mutating func fillCumulativeGaps() {
        var objects = 0.0, bytes = 0.0
        for index in allocBytes.indices {
            if allocBytes[index].isNaN {
                allocObjects[index] = objects
                allocBytes[index] = bytes
            } else {
                objects = allocObjects[index]
                bytes = allocBytes[index]
            }
        }
    }

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
