// A long-running service in fast motion, as the shim would sample it at the default rate
// (`swheap synth --service`): one dump per 4 MiB allocated (about 8 samples per epoch), ~7,000
// distinct stacks that keep appearing through the run, most of them churn (freed within an
// epoch or two), start-up tables allocated in epoch 1 and kept, bounded caches whose entries
// live a few hundred epochs, and three slow leaks. Each sampled object carries its weight
// 1/p, as the shim's; the final dump is scanned (the leaks' objects are unreferenced).
// Deterministic: same options, same dumps.

#if canImport(Glibc)
import Glibc
#endif
import SwHeapDump

public struct ServiceProcess {
    public let pid: Int32
    public let epochCount: Int
    public let stackCount: Int
    public let depth: Int
    public static let rate: UInt64 = 524_288
    /// What the service allocates between two dumps.
    public static let bytesPerEpoch = 4.0 * 1024 * 1024

    enum Kind { case leak, cache, startup, churn }
    static let caches = 30, startups = 60
    /// Per leaking stack (ids 1, 2, ...), the chance that an epoch adds a sample to it: they
    /// grow at clearly different speeds (a sample stands for `rate` bytes whatever its size).
    public let leakChances: [Double]
    private var leaks: Int { leakChances.count }

    private struct Live { var stack: Int; var birth: UInt32; var death: Int; var objects: Double; var bytes: Double }

    private var random = SplitMix64(seed: 0x5E41_11CE)
    private var live: [Live] = []
    private var allocObjects: [Double]
    private var allocBytes: [Double]
    private var frames: [[UInt64]]
    /// Stacks in the order they first allocate; `seenCount` of them have so far.
    private var seenOrder: [Int] = []
    private var seen: [Bool]
    /// Churn stacks sorted by first epoch, with cumulative Zipf weights for drawing.
    private let churnByFirst: [Int]
    private let churnCumulative: [Double]
    private let firstEpochs: [Int]
    private let shape: SyntheticProcess
    public private(set) var epoch = 0

    public init(pid: Int32, epochCount: Int, stackCount: Int, depth: Int, leakChances: [Double] = [0.09, 0.05, 0.03]) {
        self.pid = pid; self.epochCount = epochCount; self.leakChances = leakChances
        let leaks = leakChances.count
        self.stackCount = max(stackCount, leaks + Self.caches + Self.startups + 1)
        self.depth = depth
        let n = self.stackCount
        allocObjects = Array(repeating: 0, count: n)
        allocBytes = Array(repeating: 0, count: n)
        seen = Array(repeating: false, count: n)
        let shape = SyntheticProcess(pid: pid, parentPID: 1, epochCount: epochCount, stackCount: n, depth: depth)
        self.shape = shape
        frames = (0..<n).map { Self.frames(of: $0, depth: depth) }
        // Half the churn stacks run from the start; the others first run at a point spread over the run.
        var firsts = [Int](repeating: 1, count: n)
        var spread = SplitMix64(seed: 0xF125)
        for k in (leaks + Self.caches + Self.startups)..<n where k % 2 == 1 {
            firsts[k] = 1 + Int(spread.next() % UInt64(epochCount))
        }
        firstEpochs = firsts
        let churn = ((leaks + Self.caches + Self.startups)..<n).sorted { (firsts[$0], $0) < (firsts[$1], $1) }
        churnByFirst = churn
        var total = 0.0
        churnCumulative = churn.map { k in total += 1.0 / Double(k - leaks - Self.caches - Self.startups + 1); return total }
    }

    /// A call tree, as in a real program: the allocating frame is the stack's own, and each
    /// frame further out is shared by twice as many stacks (2^i stacks share frame i), so
    /// 7,000 stacks of depth 20 hold about 14,000 distinct return addresses, not 140,000.
    static func frames(of k: Int, depth: Int) -> [UInt64] {
        (0..<max(1, depth)).map { i in
            var random = SplitMix64(seed: UInt64(i) << 32 | UInt64(k >> min(i, 30)))
            let base = i == 0 ? SyntheticProcess.exeBias : (i == 1 && k % 5 == 0 ? SyntheticProcess.pluginBias : SyntheticProcess.libcBias)
            return base + 0x1000 + random.next() % (SyntheticProcess.textSize - 0x1000)
        }
    }

    func kind(_ k: Int) -> Kind {
        k < leaks ? .leak : k < leaks + Self.caches ? .cache : k < leaks + Self.caches + Self.startups ? .startup : .churn
    }

    /// The next epoch's dump (epochs 1, 2, ... epochCount).
    public mutating func nextDump() -> Dump {
        epoch += 1
        let e = epoch
        // Churn: about 7 samples per epoch over the stacks running by now, Zipf-weighted;
        // each stack's first epoch gives it one sample so that it appears.
        var active = 0, low = 0, high = churnByFirst.count
        while low < high { let mid = (low + high) / 2; if firstEpochs[churnByFirst[mid]] <= e { low = mid + 1 } else { high = mid } }
        active = low
        for k in churnByFirst[..<active] where !seen[k] && firstEpochs[k] == e { sample(k, lifetime: Int(random.next() % 3)) }
        if e == 1 { for k in churnByFirst[..<active] where !seen[k] { sample(k, lifetime: Int(random.next() % 3)) } }
        if active > 0 {
            for _ in 0..<7 {
                let x = Double(random.next() % 1_000_000) / 1_000_000 * churnCumulative[active - 1]
                var lo = 0, hi = active - 1
                while lo < hi { let mid = (lo + hi) / 2; if churnCumulative[mid] < x { lo = mid + 1 } else { hi = mid } }
                sample(churnByFirst[lo], lifetime: Int(random.next() % 3))
            }
        }
        for k in 0..<leaks where chance(leakChances[k]) { sample(k, lifetime: .max) }
        for k in leaks..<(leaks + Self.caches) where chance(0.03) || (e == 1) {
            sample(k, lifetime: 100 + Int(random.next() % 500))
        }
        if e == 1 { for k in (leaks + Self.caches)..<(leaks + Self.caches + Self.startups) { for _ in 0..<4 { sample(k, lifetime: .max) } } }
        live.removeAll { $0.death <= e }

        let final = e == epochCount
        let header = DumpHeader(isFinal: final, isScanned: final, heapTraversed: final, pid: pid, parentPID: 1,
                                epoch: UInt64(e), wallTimeNs: 1_700_000_000_000_000_000 + UInt64(e) * 10_000_000_000,
                                monotonicNs: 5_000_000_000 + UInt64(e) * 10_000_000_000, startMonotonicNs: 5_000_000_000,
                                rate: Self.rate, maxDepth: UInt32(depth + 4))
        let stacks = seenOrder.map { k in
            StackRecord(id: UInt32(k + 1), frames: frames[k], allocObjects: allocObjects[k], allocBytes: allocBytes[k])
        }
        var cells: [UInt64: LiveCell] = [:]
        for object in live {
            let key = UInt64(object.stack) << 32 | UInt64(object.birth)
            let unreferenced = final && kind(object.stack) == .leak
            cells[key, default: LiveCell(stackID: UInt32(object.stack + 1), birthEpoch: object.birth, liveObjects: 0, liveBytes: 0)]
                .add(objects: object.objects, bytes: object.bytes, unreferenced: unreferenced)
        }
        let liveCells = cells.keys.sorted().map { cells[$0]! }
        return Dump(header: header, executable: SyntheticProcess.executable,
                    commandLine: [SyntheticProcess.executable, "--service", String(pid)],
                    modules: shape.modules(epoch: e),
                    stacks: stacks, live: liveCells)
    }

    private mutating func chance(_ p: Double) -> Bool { Double(random.next() % 1_000_000) < p * 1_000_000 }

    /// One sampled allocation from stack `k`, freed `lifetime` epochs after its birth (0: within its epoch).
    private mutating func sample(_ k: Int, lifetime: Int) {
        let size: Double
        switch kind(k) {
        case .leak: size = Double(64 << (k % 4))
        case .cache: size = Double(256 << (k % 5))
        case .startup: size = 256 * 1024
        case .churn: size = Double(32 << (k % 8))
        }
        // The shim's weight: 1/p with p = 1 - exp(-(size + 1) / rate).
        let p = -expm1(-(size + 1) / Double(Self.rate))
        if !seen[k] { seen[k] = true; seenOrder.append(k) }
        allocObjects[k] += 1 / p
        allocBytes[k] += size / p
        if lifetime > 0 {
            let death = lifetime == .max ? Int.max : epoch + lifetime
            live.append(Live(stack: k, birth: UInt32(epoch), death: death, objects: 1 / p, bytes: size / p))
        }
    }
}

private extension LiveCell {
    mutating func add(objects: Double, bytes: Double, unreferenced: Bool) {
        liveObjects += objects; liveBytes += bytes
        if unreferenced { unreferencedObjects += objects; unreferencedBytes += bytes }
    }
}
