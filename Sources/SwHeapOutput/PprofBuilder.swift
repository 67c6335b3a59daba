// Builds a pprof heap profile (google/pprof profile.proto) from one process of a HeapStore,
// laid out as Go writes heap profiles so every pprof reader shows it the usual way:
// sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes
// (default inuse_space), period_type space/bytes, period = the sampling rate, values already
// unbiased (pprof never rescales a proto). Locations come symbolised, with inlined frames.
import SwHeapDump
import SwHeapRanking
import SwHeapStore
import SwHeapSymbols
import SwiftProtobuf

public struct PprofBuilder {
    public var process: ProcessHeap

    public init(process: ProcessHeap) {
        self.process = process
    }

    /// Resolves user-facing epoch numbers (as in file names) to indices; nil epoch = the last.
    public func epochIndices(epoch: UInt64?, base: UInt64?) throws(PprofError) -> (epoch: Int, base: Int?) {
        guard !process.epochs.isEmpty else { throw .noEpochs(pid: process.pid) }
        let numbers = process.epochs.map(\.epoch)
        func index(_ number: UInt64) throws(PprofError) -> Int {
            guard let index = process.epochIndex(ofEpoch: number) else {
                throw .unknownEpoch(pid: process.pid, epoch: number, available: numbers)
            }
            return index
        }
        let epochIndex = try epoch.map(index) ?? process.lastEpochIndex
        guard let base else { return (epochIndex, nil) }
        let baseIndex = try index(base)
        guard baseIndex < epochIndex else { throw .baseNotEarlier(base: base, epoch: numbers[epochIndex]) }
        return (epochIndex, baseIndex)
    }

    /// The profile at `epochIndex`, or its growth since `baseIndex`.
    public func profile(epochIndex: Int, baseIndex: Int? = nil, allocationFoldedThrough: Int? = nil,
                        symbolizer: Symbolizer, wrappers: WrapperRules = WrapperRules()) -> Perftools_Profiles_Profile {
        let rows = PprofSamples.rows(for: process, epochIndex: epochIndex, baseIndex: baseIndex,
                                     allocationFoldedThrough: allocationFoldedThrough)
        var addresses = Set<UInt64>()
        for row in rows { addresses.formUnion(process.sites[row.siteIndex].frames) }
        let symbols = symbolizer.symbolize(Array(addresses), in: process.modules)

        var strings = PprofStringTable()
        var profile = Perftools_Profiles_Profile()
        profile.sampleType = [("alloc_objects", "count"), ("alloc_space", "bytes"),
                              ("inuse_objects", "count"), ("inuse_space", "bytes")].map { type, unit in
            valueType(type, unit, &strings)
        }
        profile.defaultSampleType = strings.index("inuse_space")
        profile.periodType = valueType("space", "bytes", &strings)
        profile.period = Int64(clamping: process.rate)
        profile.dropFrames = strings.index(FrameClassifier.dropFramesPattern)
        setTimes(&profile, epochIndex: epochIndex, baseIndex: baseIndex)

        var tables = LocationTables(process: process, symbols: symbols)
        let birthKey = strings.index("birth_epoch"), birthUnit = strings.index("epoch")
        // Label `site`: the allocation site the report ranks (function and line after skipped
        // frames), so pprof can gather a site's stacks (-tagfocus=site=..., -tags).
        let naming = SymbolizedSiteNaming(process: process, symbolizer: symbolizer, wrappers: wrappers)
        let siteKey = strings.index("site")
        var siteValues: [Int: Int64] = [:]
        for row in rows {
            var sample = Perftools_Profiles_Sample()
            sample.locationID = process.sites[row.siteIndex].frames.map { tables.locationID(for: $0) }
            sample.value = row.roundedValues
            var label = Perftools_Profiles_Label()
            label.key = birthKey
            label.num = Int64(clamping: row.birthEpoch)
            label.numUnit = birthUnit
            if siteValues[row.siteIndex] == nil {
                let site = process.sites[row.siteIndex]
                let names = naming.names(stackID: site.stackID, frames: site.frames)
                siteValues[row.siteIndex] = strings.index(names.siteName + (names.siteLocation.map { " (\($0))" } ?? ""))
            }
            var siteLabel = Perftools_Profiles_Label()
            siteLabel.key = siteKey
            siteLabel.str = siteValues[row.siteIndex]!
            sample.label = [label, siteLabel]
            profile.sample.append(sample)
        }
        tables.fill(&profile, strings: &strings)
        profile.comment = comments(epochIndex: epochIndex, baseIndex: baseIndex, symbolizer: symbolizer)
            .map { strings.index($0) }
        profile.stringTable = strings.strings
        return profile
    }

    /// The thread census at `epochIndex` as a profile of threads per creation stack, like Go's
    /// `threadcreate`: sample types threads (running + exited-unjoined, the default), running,
    /// exited_unjoined, created (every thread since the start, gone ones too) and stack_space
    /// (bytes of stack mappings held). Threads the census only counted (before profiling) have
    /// no creation stack and are left out, as are sites of unknown stacks.
    public func threadProfile(epochIndex: Int, symbolizer: Symbolizer) throws(PprofError) -> Perftools_Profiles_Profile {
        guard epochIndex < process.threads.count, let census = process.threads[epochIndex] else {
            throw .noThreadCensus(pid: process.pid, epoch: process.epochs[epochIndex].epoch)
        }
        let frames = Dictionary(process.sites.map { ($0.stackID, $0.frames) }, uniquingKeysWith: { first, _ in first })
        let sites = census.sites.filter { !(frames[$0.stackID] ?? []).isEmpty }
        let symbols = symbolizer.symbolize(Array(Set(sites.flatMap { frames[$0.stackID]! })), in: process.modules)
        var strings = PprofStringTable()
        var profile = Perftools_Profiles_Profile()
        profile.sampleType = [("threads", "count"), ("running", "count"), ("exited_unjoined", "count"), ("created", "count"),
                              ("stack_space", "bytes")].map { type, unit in valueType(type, unit, &strings) }
        profile.defaultSampleType = strings.index("threads")
        profile.periodType = valueType("threadcreate", "count", &strings)
        profile.period = 1
        profile.dropFrames = strings.index(FrameClassifier.dropFramesPattern)
        setTimes(&profile, epochIndex: epochIndex, baseIndex: nil)
        var tables = LocationTables(process: process, symbols: symbols)
        let naming = SymbolizedSiteNaming(process: process, symbolizer: symbolizer)
        let siteKey = strings.index("site")
        for site in sites {
            var sample = Perftools_Profiles_Sample()
            sample.locationID = frames[site.stackID]!.map { tables.locationID(for: $0) }
            sample.value = [site.running + site.exitedUnjoined, site.running, site.exitedUnjoined,
                            site.running + site.exitedUnjoined + site.gone, site.stackBytes].map { Int64(clamping: $0) }
            let names = naming.names(stackID: site.stackID, frames: frames[site.stackID]!)
            var label = Perftools_Profiles_Label()
            label.key = siteKey
            label.str = strings.index(names.siteName + (names.siteLocation.map { " (\($0))" } ?? ""))
            sample.label = [label]
            profile.sample.append(sample)
        }
        tables.fill(&profile, strings: &strings)
        let epoch = process.epochs[epochIndex]
        profile.comment = [
            "swheap threads profile of pid \(process.pid): \(process.commandLine.joined(separator: " "))",
            "epoch \(epoch.epoch) of \(process.epochs.last?.epoch ?? 0)" + (epoch.isFinal ? " (at exit)" : ""),
            "threads per creation stack (pthread_create), every creation recorded: values are exact",
            "\(census.untracked) more running thread(s) without a creation stack: before profiling, or raw clone",
        ].map { strings.index($0) }
        profile.stringTable = strings.strings
        return profile
    }

    private func valueType(_ type: String, _ unit: String, _ strings: inout PprofStringTable) -> Perftools_Profiles_ValueType {
        var value = Perftools_Profiles_ValueType()
        value.type = strings.index(type)
        value.unit = strings.index(unit)
        return value
    }

    /// A full view spans process start to the epoch; a growth view spans base to epoch.
    private func setTimes(_ profile: inout Perftools_Profiles_Profile, epochIndex: Int, baseIndex: Int?) {
        let end = process.epochs[epochIndex]
        let startMonotonic = baseIndex.map { process.epochs[$0].monotonicNs } ?? end.startMonotonicNs
        let duration = end.monotonicNs >= startMonotonic ? end.monotonicNs - startMonotonic : 0
        profile.durationNanos = Int64(clamping: duration)
        profile.timeNanos = Int64(clamping: end.wallTimeNs >= duration ? end.wallTimeNs - duration : 0)
    }

    private func comments(epochIndex: Int, baseIndex: Int?, symbolizer: Symbolizer) -> [String] {
        let epoch = process.epochs[epochIndex]
        var lines = ["swheap heap profile of pid \(process.pid): \(process.commandLine.joined(separator: " "))"]
        var view = "epoch \(epoch.epoch) of \(process.epochs.last?.epoch ?? 0)" + (epoch.isFinal ? " (at exit)" : "")
        if let baseIndex { view += ", minus epoch \(process.epochs[baseIndex].epoch) (growth view)" }
        lines.append(view)
        lines.append(process.rate == 1 ? "every allocation recorded: values are exact"
                     : "sampled every \(process.rate) bytes on average: values are unbiased estimates")
        lines.append("label birth_epoch=b: allocated between dumps b-1 and b")
        lines.append("label site: the allocation site as `swheap report` ranks it (function and line)")
        if process.isTruncated { lines.append("a shim table was full in some dump: values are lower bounds") }
        if let reason = symbolizer.unavailableReason { lines.append("symbolisation incomplete: \(reason)") }
        return lines
    }
}

/// Mappings, locations and functions with nonzero unique ids, built as samples need them.
private struct LocationTables {
    let process: ProcessHeap
    let symbols: [UInt64: SymbolizedLocation]
    /// One mapping per executable segment, main executable first.
    private var mappings: [(module: Int, segment: Segment)] = []
    private var mappingIDs: [UInt64: Int] = [:]   // segment start → index in mappings
    private var symbolisedMappings = Set<Int>(), linedMappings = Set<Int>()
    private var locations: [Perftools_Profiles_Location] = []
    private var locationIDs: [UInt64: UInt64] = [:]
    private var functionKeys: [SymbolizedFrame: UInt64] = [:]
    private var functions: [SymbolizedFrame] = []

    init(process: ProcessHeap, symbols: [UInt64: SymbolizedLocation]) {
        self.process = process
        self.symbols = symbols
        let order = process.modules.indices.sorted { a, b in
            (process.modules[a].path == process.executable ? 0 : 1, a) < (process.modules[b].path == process.executable ? 0 : 1, b)
        }
        for module in order {
            for segment in process.modules[module].segments where segment.isExecutable {
                mappingIDs[segment.start] = mappings.count
                mappings.append((module, segment))
            }
        }
    }

    mutating func locationID(for address: UInt64) -> UInt64 {
        if let id = locationIDs[address] { return id }
        let id = UInt64(locations.count + 1)
        var location = Perftools_Profiles_Location()
        location.id = id
        location.address = address &- 1   // the symbolised address, inside the call
        let symbol = symbols[address]
        if let mapping = mappingIndex(for: address &- 1, module: symbol?.moduleIndex) {
            location.mappingID = UInt64(mapping + 1)
            if symbol?.hasFunctionName == true { symbolisedMappings.insert(mapping) }
            if symbol?.hasLineNumbers == true { linedMappings.insert(mapping) }
        }
        let frames = symbol?.frames ?? [SymbolizedFrame(function: FunctionName.hexAddress(address))]
        location.line = frames.map { frame in   // innermost first: the last line is the outermost caller
            var line = Perftools_Profiles_Line()
            line.functionID = functionID(for: frame)
            line.line = Int64(frame.line)
            return line
        }
        locations.append(location)
        locationIDs[address] = id
        return id
    }

    private func mappingIndex(for pc: UInt64, module: Int?) -> Int? {
        guard let module else { return nil }
        guard let segment = process.modules[module].segments.first(where: { $0.isExecutable && pc >= $0.start && pc < $0.end })
        else { return nil }
        return mappingIDs[segment.start]
    }

    private mutating func functionID(for frame: SymbolizedFrame) -> UInt64 {
        // A function is its name, mangled name and file; line and inlining belong to the Line.
        var key = frame
        key.line = 0
        key.isInlined = false
        if let id = functionKeys[key] { return id }
        functions.append(key)
        let id = UInt64(functions.count)
        functionKeys[key] = id
        return id
    }

    func fill(_ profile: inout Perftools_Profiles_Profile, strings: inout PprofStringTable) {
        profile.mapping = mappings.enumerated().map { index, entry in
            let module = process.modules[entry.module]
            var mapping = Perftools_Profiles_Mapping()
            mapping.id = UInt64(index + 1)
            mapping.memoryStart = entry.segment.start
            mapping.memoryLimit = entry.segment.end
            mapping.fileOffset = entry.segment.fileOffset
            mapping.filename = strings.index(module.path)
            mapping.buildID = strings.index(module.buildIDHex)
            // pprof re-symbolises mappings without functions when it finds the binary.
            mapping.hasFunctions_p = symbolisedMappings.contains(index)
            mapping.hasInlineFrames_p = symbolisedMappings.contains(index)
            mapping.hasFilenames_p = linedMappings.contains(index)
            mapping.hasLineNumbers_p = linedMappings.contains(index)
            return mapping
        }
        profile.location = locations
        profile.function = functions.enumerated().map { index, frame in
            var function = Perftools_Profiles_Function()
            function.id = UInt64(index + 1)
            function.name = strings.index(frame.function)
            function.systemName = strings.index(frame.systemName.isEmpty ? frame.function : frame.systemName)
            function.filename = strings.index(frame.file)
            return function
        }
    }
}
