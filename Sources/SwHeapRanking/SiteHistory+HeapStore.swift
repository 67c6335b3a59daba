// Builds the ranker's input from what HeapStore loaded.

import SwHeapStore

extension EpochTimeline {
    public init(process: ProcessHeap) {
        self.init(elapsedSeconds: process.epochs.map(\.elapsedSeconds),
                  epochNumbers: process.epochs.map(\.epoch),
                  endsWithFinalDump: process.isFinal, lastEpochScanned: process.isScanned,
                  samplingRate: Double(max(process.rate, 1)))
        shownIndex = process.shownEpoch.index
    }
}

extension SiteHistory {
    public init(site: Site) {
        self.init(stackID: site.stackID, liveBytes: site.liveBytes, liveObjects: site.liveObjects,
                  unreferencedBytes: site.unreferencedBytes, unreferencedObjects: site.unreferencedObjects,
                  births: site.births)
    }
}
