// Builds the ranker's input from what HeapStore loaded.

import SwHeapStore

extension EpochTimeline {
    public init(process: ProcessHeap) {
        self.init(elapsedSeconds: process.epochs.map(\.elapsedSeconds),
                  epochNumbers: process.epochs.map(\.epoch),
                  endsWithFinalDump: process.isFinal, samplingRate: Double(max(process.rate, 1)))
        shownIndex = process.shownEpoch.index
        if let scan = process.scan, scan.foundVerdicts {
            carriedScan = true
            liveScanEpoch = scan.record.isLive ? scan.record.epoch : nil
            scannedIndex = process.epochIndex(ofEpoch: scan.record.epoch)
        } else {
            scannedIndex = process.scannedEpochIndex
        }
    }
}

extension SiteHistory {
    public init(site: Site) {
        self.init(stackID: site.stackID, liveBytes: site.liveBytes, liveObjects: site.liveObjects,
                  unreferencedBytes: site.unreferencedBytes, unreferencedObjects: site.unreferencedObjects,
                  births: site.births)
        heldBy = site.heldBy
        unreferencedComponents = site.unreferencedComponents
        atScan = site.atScan.map {
            ScanFigures(liveBytes: $0.liveBytes, liveObjects: $0.liveObjects, unreferencedBytes: $0.unreferencedBytes,
                        unreferencedObjects: $0.unreferencedObjects)
        }
    }
}
