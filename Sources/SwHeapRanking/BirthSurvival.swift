// Survival by birth epoch: the evidence that tells a leak from a cache. Leaked objects born
// early are still alive late; a bounded cache releases its old entries as new ones arrive.
// For sampled dumps this is exact per sampled object (a sampled object stays sampled until
// freed), so it is far less noisy than the live-byte totals.

import SwHeapDump

public struct BirthSurvival: Hashable, Sendable {
    /// Birth epochs (numbers) whose survival was measured: those of the first half of the run,
    /// or of the older half of the growth window when too few were born early.
    public var olderBirthEpochs: ClosedRange<UInt64>?
    /// Objects born then, as first seen in a dump.
    public var olderBornObjects: Double
    /// How many sampled objects that estimate rests on (equal to the objects at rate 1).
    public var olderBornSamples: Double
    /// How many of those are still alive at the last analysed epoch.
    public var olderAliveObjects: Double
    /// Share of the last analysed live bytes born in the first quarter of the run (start-up).
    public var earlyShare: Double?
    /// Objects born in the second half of the run were seen alive (allocation continues).
    public var birthsContinue: Bool

    /// Of every object first seen before the last analysed epoch, the share still alive then;
    /// nil under `minimumSurvivalSamples`. A cache evicts (low), a leak keeps everything (1).
    public var overallRetention: Double?
    /// Sampled objects alive at the last analysed epoch that were born in the second half of
    /// the run (expected count): with sparse samples, the evidence that growth continues.
    public var lateBornSamples: Double

    /// olderAlive / olderBorn; nil when too few objects were born in that range to tell
    /// (fewer samples than `RankingThresholds.minimumSurvivalSamples`).
    public var retention: Double?
}

extension BirthSurvival {
    /// - Parameters:
    ///   - births: the site's LIVE cells, `epochIndex` set.
    ///   - windowStart: index where the rise of the live bytes starts.
    ///   - lastIndex: index of the last analysed epoch.
    public init(births: [LiveCell], timeline: EpochTimeline, windowStart: Int, lastIndex: Int,
                thresholds: RankingThresholds = RankingThresholds()) {
        let minimumSamples = thresholds.minimumSurvivalSamples
        // First sighting of each birth cohort: its objects as seen at (or soonest after) birth.
        let sightings = CohortSightings(births: births, lastIndex: lastIndex)
        let firstSeen = sightings.firstSeen, aliveAtLast = sightings.aliveAtLast

        // Prefer the first half of the run (never the last epoch itself, whose births are
        // trivially alive): a cache's entries live for a while, so only a long horizon shows
        // them released. When too few objects were born then (a leak that starts late), fall
        // back to the older half of the growth window.
        func older(_ range: ClosedRange<Int>) -> (born: Double, samples: Double, alive: Double, epochs: [UInt64]) {
            var born = 0.0, bornBytes = 0.0, alive = 0.0
            var epochs: [UInt64] = []
            for (epoch, seen) in firstSeen {
                guard let index = timeline.index(ofBirthEpoch: epoch), range.contains(index),
                      index < lastIndex else { continue }
                born += seen.objects
                bornBytes += seen.bytes
                alive += aliveAtLast[epoch]?.objects ?? 0
                epochs.append(epoch)
            }
            let samples = SamplingNoise.expectedSamples(
                objects: born, meanSize: born > 0 ? bornBytes / born : 0, rate: timeline.samplingRate)
            return (born, samples, alive, epochs.sorted())
        }
        var chosen = older(0...max(0, min(lastIndex / 2, lastIndex - 1)))
        if chosen.samples < minimumSamples && windowStart > 0 {
            let middle = windowStart + (lastIndex - windowStart) / 2
            chosen = older(windowStart...max(windowStart, min(middle, lastIndex - 1)))
        }
        olderBornObjects = chosen.born
        olderBornSamples = chosen.samples
        olderAliveObjects = chosen.alive
        olderBirthEpochs = chosen.epochs.isEmpty ? nil : chosen.epochs.first!...chosen.epochs.last!
        retention = chosen.born > 0 && chosen.samples >= minimumSamples ? min(1, chosen.alive / chosen.born) : nil

        let totalBytes = aliveAtLast.values.reduce(0) { $0 + $1.bytes }
        let earlyLimit = max(1, lastIndex / 4)
        let earlyBytes = aliveAtLast.filter { (timeline.index(ofBirthEpoch: $0.key) ?? Int.max) <= earlyLimit }
            .values.reduce(0) { $0 + $1.bytes }
        earlyShare = totalBytes > 0 ? earlyBytes / totalBytes : nil

        let secondHalf = (lastIndex + 1) / 2
        var everBorn = 0.0, everBornBytes = 0.0, everAlive = 0.0, late = 0.0
        for (epoch, seen) in firstSeen where seen.index < lastIndex {
            everBorn += seen.objects; everBornBytes += seen.bytes
            everAlive += aliveAtLast[epoch]?.objects ?? 0
        }
        for (epoch, alive) in aliveAtLast where (timeline.index(ofBirthEpoch: epoch) ?? -1) >= max(1, secondHalf) {
            late += SamplingNoise.expectedSamples(objects: alive.objects, meanSize: alive.objects > 0 ? alive.bytes / alive.objects : 0,
                                                  rate: timeline.samplingRate)
        }
        let everSamples = SamplingNoise.expectedSamples(objects: everBorn, meanSize: everBorn > 0 ? everBornBytes / everBorn : 0,
                                                        rate: timeline.samplingRate)
        overallRetention = everBorn > 0 && everSamples >= minimumSamples ? min(1, everAlive / everBorn) : nil
        lateBornSamples = late
        birthsContinue = firstSeen.contains { epoch, seen in
            seen.objects > 0 && (timeline.index(ofBirthEpoch: epoch) ?? -1) >= max(1, secondHalf)
        }
    }
}
