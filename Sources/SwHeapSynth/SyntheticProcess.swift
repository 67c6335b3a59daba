// Deterministic synthetic dumps for benchmarks and fixtures (`swheap synth`): same options,
// same bytes.

import SwHeapDump

/// The dumps of one made-up process. Stack k allocates at a steady rate from its first epoch;
/// every stack has young live objects, one in three also keeps its first-epoch objects, and
/// one in two hundred leaks a bucket per epoch (the shape a leak report looks for).
public struct SyntheticProcess: Sendable {
    public var pid: Int32
    public var parentPID: Int32
    public var epochCount: Int
    public var stackCount: Int
    public var depth: Int

    public init(pid: Int32, parentPID: Int32, epochCount: Int, stackCount: Int, depth: Int) {
        self.pid = pid; self.parentPID = parentPID; self.epochCount = epochCount
        self.stackCount = stackCount; self.depth = depth
    }

    public static let executable = "/usr/bin/synthetic-app"
    public static let exeBias: UInt64 = 0x5555_5555_4000
    static let libcBias: UInt64 = 0x7f00_0000_0000
    static let pluginBias: UInt64 = 0x7f10_0000_0000
    static let textSize: UInt64 = 0x10_0000

    public func dump(epoch: Int) -> Dump {
        let header = DumpHeader(
            isFinal: epoch == epochCount, isScanned: epoch == epochCount, isTruncated: false,
            pid: pid, parentPID: parentPID, epoch: UInt64(epoch),
            wallTimeNs: 1_700_000_000_000_000_000 + UInt64(epoch) * 1_000_000_000,
            monotonicNs: 5_000_000_000 + UInt64(epoch) * 1_000_000_000,
            startMonotonicNs: 5_000_000_000, rate: 524_288, maxDepth: UInt32(depth + 4))
        var stacks: [StackRecord] = []
        var live: [LiveCell] = []
        stacks.reserveCapacity(stackCount)
        for k in 0..<stackCount {
            let first = firstEpoch(of: k)
            guard epoch >= first else { continue }
            let size = Double(16 << (k % 12))
            let perEpoch = Double(1 + k % 7)
            let age = Double(epoch - first + 1)
            stacks.append(StackRecord(id: UInt32(k + 1), frames: frames(of: k),
                                      allocObjects: perEpoch * age, allocBytes: perEpoch * age * size))
            func bucket(born: Int, objects: Double) {
                let unreferenced = header.isScanned && k % 200 == 0 ? objects / 2 : 0
                live.append(LiveCell(stackID: UInt32(k + 1), birthEpoch: UInt32(born),
                                       liveObjects: objects, liveBytes: objects * size,
                                       unreferencedObjects: unreferenced, unreferencedBytes: unreferenced * size))
            }
            if k % 200 == 0 {
                for born in first...epoch { bucket(born: born, objects: perEpoch) }
            } else {
                if k % 3 == 0 && first < epoch { bucket(born: first, objects: 1) }
                bucket(born: epoch, objects: perEpoch / 2)
            }
        }
        return Dump(header: header, executable: Self.executable,
                    commandLine: [Self.executable, "--synthetic", String(pid)],
                    modules: modules(epoch: epoch), stacks: stacks, live: live)
    }

    /// Nine in ten stacks exist from the start; the rest appear later.
    private func firstEpoch(of k: Int) -> Int {
        k % 10 == 9 ? 1 + k % epochCount : 1
    }

    /// Deterministic frames: the innermost in the executable, the rest in libc or a plugin.
    func frames(of k: Int) -> [UInt64] {
        var random = SplitMix64(seed: UInt64(k) &* 0x9E37_79B9 &+ UInt64(pid))
        let count = max(1, depth - 4 + Int(random.next() % 9))
        return (0..<count).map { i in
            let base = i == 0 ? Self.exeBias : (k % 5 == 0 && i == 1 ? Self.pluginBias : Self.libcBias)
            return base + 0x1000 + random.next() % (Self.textSize - 0x1000)
        }
    }

    /// The plugin is loaded for the first half of the run only, as if dlclose'd later.
    func modules(epoch: Int) -> [Module] {
        func module(_ path: String, bias: UInt64, id: UInt8) -> Module {
            Module(loadBias: bias, path: path, buildID: (0..<20).map { id &+ $0 },
                   segments: [Segment(start: bias, end: bias + Self.textSize, fileOffset: 0, flags: 5)])
        }
        var modules = [module(Self.executable, bias: Self.exeBias, id: 1),
                       module("/usr/lib/libc.so.6", bias: Self.libcBias, id: 2)]
        if epoch <= (epochCount + 1) / 2 { modules.append(module("/usr/lib/plugin.so", bias: Self.pluginBias, id: 3)) }
        modules.append(Module(loadBias: 0x7ffd_0000_0000, path: Module.vdsoPath, buildID: [],
                              segments: [Segment(start: 0x7ffd_0000_0000, end: 0x7ffd_0000_2000, fileOffset: 0, flags: 5)]))
        return modules
    }
}
