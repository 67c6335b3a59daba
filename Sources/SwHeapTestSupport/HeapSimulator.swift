// A tiny model of the shim's sampler, to produce the series a real run would: each allocation
// of s bytes is sampled with probability 1 - exp(-(s+1)/R) (as the shim's sampler.c) and then stands for 1/p objects and s/p
// bytes; a sampled object stays in its birth epoch's bucket until freed. Deterministic per seed.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSwHeapFormat
import SwHeapDump
import SwHeapRanking
import SwHeapSynth

extension SplitMix64 {
    /// Offset so seed 0 is not the generator's own start (the sequences the ranking tests were tuned on).
    public init(offsetSeed seed: UInt64) { self.init(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }
}

public struct HeapSimulator {
    public struct Handle: Hashable { var id: Int }
    private struct Sampled { var birthEpoch: UInt64; var objects: Double; var bytes: Double }

    public let rate: Double
    public var secondsPerEpoch = 10.0
    private var generator: SplitMix64
    private var nextID = 0
    private var sampled: [Int: Sampled] = [:]
    /// Allocation handles in the order they were made (for FIFO eviction in scenarios).
    public private(set) var epoch: UInt64 = 1
    private var liveBytes: [Double] = []
    private var liveObjects: [Double] = []
    private var births: [LiveCell] = []

    public init(rate: Double = 1, seed: UInt64 = 1) {
        self.rate = rate
        generator = SplitMix64(offsetSeed: seed)
    }

    public mutating func allocate(_ size: Double) -> Handle {
        defer { nextID += 1 }
        if rate <= 1 {
            sampled[nextID] = Sampled(birthEpoch: epoch, objects: 1, bytes: size)
        } else {
            let p = sw_sample_probability(size, rate)
            if Double.random(in: 0..<1, using: &generator) < p {
                sampled[nextID] = Sampled(birthEpoch: epoch, objects: 1 / p, bytes: size / p)
            }
        }
        return Handle(id: nextID)
    }

    public mutating func free(_ handle: Handle) { sampled[handle.id] = nil }

    /// realloc: a new allocation, the old one freed (what the shim sees).
    public mutating func reallocate(_ handle: Handle, to size: Double) -> Handle {
        free(handle)
        return allocate(size)
    }

    /// Writes a dump: records this epoch's live figures, then starts the next epoch.
    public mutating func dump() {
        let index = liveBytes.count
        var cells: [UInt64: (Double, Double)] = [:]
        for object in sampled.values {
            cells[object.birthEpoch, default: (0, 0)].0 += object.objects
            cells[object.birthEpoch, default: (0, 0)].1 += object.bytes
        }
        liveBytes.append(cells.values.reduce(0) { $0 + $1.1 })
        liveObjects.append(cells.values.reduce(0) { $0 + $1.0 })
        for (birth, cell) in cells.sorted(by: { $0.key < $1.key }) {
            births.append(LiveCell(epochIndex: index, birthEpoch: UInt32(birth), liveObjects: cell.0, liveBytes: cell.1))
        }
        epoch += 1
    }

    public func timeline(final: Bool = false, scanned: Bool = false) -> EpochTimeline {
        EpochTimeline(elapsedSeconds: liveBytes.indices.map { Double($0 + 1) * secondsPerEpoch },
                      endsWithFinalDump: final, lastEpochScanned: scanned, samplingRate: rate)
    }

    public func history(stackID: UInt32 = 1) -> SiteHistory {
        SiteHistory(stackID: stackID, liveBytes: liveBytes, liveObjects: liveObjects, births: births)
    }
}

/// The scenarios of the ranking tests, each producing one site's history.
public enum Scenario: String, CaseIterable, Sendable {
    case steadyLeak, lateLeak, boundedCache, batches, startupTable, boundedReallocBuffer, unboundedReallocBuffer

    /// Whether the scenario is unbounded growth without release.
    public var isLeak: Bool { self == .steadyLeak || self == .lateLeak || self == .unboundedReallocBuffer }

    public func simulate(epochs: Int = 12, rate: Double = 1, seed: UInt64 = 1, objectSize: Double = 1024,
                  perEpoch: Int = 100) -> (SiteHistory, EpochTimeline) {
        var heap = HeapSimulator(rate: rate, seed: seed)
        var held: [HeapSimulator.Handle] = []
        var buffer: HeapSimulator.Handle?
        var bufferSize = 4096.0
        for e in 1...epochs {
            switch self {
            case .steadyLeak:
                for _ in 0..<perEpoch { _ = heap.allocate(objectSize) }
            case .lateLeak:
                if e > epochs / 2 { for _ in 0..<perEpoch { _ = heap.allocate(objectSize) } }
                // Churn before and after: short-lived objects freed within the epoch.
                for _ in 0..<perEpoch { heap.free(heap.allocate(objectSize)) }
            case .boundedCache:
                // FIFO of 7 epochs' worth of entries: fills in 7 epochs, then churns.
                for _ in 0..<perEpoch {
                    held.append(heap.allocate(objectSize))
                    if held.count > 7 * perEpoch { heap.free(held.removeFirst()) }
                }
            case .batches:
                for _ in 0..<perEpoch { held.append(heap.allocate(objectSize)) }
                if e % 3 == 0 { held.forEach { heap.free($0) }; held = [] }
            case .startupTable:
                if e == 1 { for _ in 0..<(5 * perEpoch) { held.append(heap.allocate(objectSize)) } }
                for _ in 0..<perEpoch { heap.free(heap.allocate(objectSize)) }
            case .boundedReallocBuffer:
                // Doubles during the first two epochs up to 1 MiB, then stays.
                if e <= 2 {
                    while bufferSize < Double(e) * 512 * 1024 {
                        bufferSize *= 2
                        buffer = buffer.map { heap.reallocate($0, to: bufferSize) } ?? heap.allocate(bufferSize)
                    }
                }
            case .unboundedReallocBuffer:
                bufferSize += Double(perEpoch) * objectSize
                buffer = buffer.map { heap.reallocate($0, to: bufferSize) } ?? heap.allocate(bufferSize)
            }
            heap.dump()
        }
        return (heap.history(), heap.timeline())
    }
}
