// Errors of the pprof output, each naming what exists so the user can retry at once.

import SwHeapSystem

public enum PprofError: SwHeapError, Equatable {
    case noEpochs(pid: Int32)
    case unknownEpoch(pid: Int32, epoch: UInt64, available: [UInt64])
    case baseNotEarlier(base: UInt64, epoch: UInt64)
    case unknownPID(pid: Int32, available: [Int32])
    case cannotWrite(path: String, reason: String)
    case cannotRead(path: String, reason: String)
    case noThreadCensus(pid: Int32, epoch: UInt64)

    public var description: String {
        switch self {
        case let .noEpochs(pid):
            return "process \(pid) has no dumps"
        case let .unknownEpoch(pid, epoch, available):
            return "process \(pid) has no epoch \(epoch); epochs: \(PprofError.ranges(available))"
        case let .baseNotEarlier(base, epoch):
            return "--base \(base) must be an earlier epoch than \(epoch)"
        case let .unknownPID(pid, available):
            return "no process \(pid) in the dumps; pids: \(available.map(String.init).joined(separator: ", "))"
        case let .cannotWrite(path, reason):
            return "cannot write \(path): \(reason)"
        case let .cannotRead(path, reason):
            return "cannot read \(path): \(reason)"
        case let .noThreadCensus(pid, epoch):
            return "process \(pid) has no thread census at epoch \(epoch) (dumps written by a shim without one)"
        }
    }

    /// "1-5, 7, 9-10": epochs are usually contiguous, and the list can be long.
    static func ranges(_ values: [UInt64]) -> String {
        var parts: [String] = []
        var index = 0
        let sorted = values.sorted()
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
