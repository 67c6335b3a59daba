// Turns return addresses into source frames with llvm-symbolizer, caching per (module, address).
// Never fails: whatever cannot be symbolised (no symbolizer, missing or stripped objects, the
// vdso) becomes a `module+0xoffset` frame.
import Foundation
import SwHeapDump
import SwHeapSystem
#if canImport(Glibc)
import Glibc
#endif

public final class Symbolizer {
    public struct Options: Sendable {
        /// llvm-symbolizer to run; nil finds one (see `locateLLVMSymbolizer`).
        public var executable: String?
        /// Where separate debug files are looked up by build ID and .gnu_debuglink.
        public var debugFileDirectories: [String]
        /// Report progress on stderr when it is a terminal and a batch takes over a second.
        public var showsProgress: Bool

        public init(executable: String? = nil, debugFileDirectories: [String] = ["/usr/lib/debug"],
                    showsProgress: Bool = true) {
            self.executable = executable; self.debugFileDirectories = debugFileDirectories
            self.showsProgress = showsProgress
        }
    }

    /// Which object a cached answer came from: the same path and build ID, whatever the dump.
    private struct ObjectIdentity: Hashable {
        var path: String
        var buildID: [UInt8]
    }

    private struct CacheKey: Hashable {
        var object: Int
        var offset: UInt64
    }

    private let options: Options
    /// Empty frames: looked up, nothing known.
    private var cache: [CacheKey: [SymbolizedFrame]] = [:]
    private var objectNumbers: [ObjectIdentity: Int] = [:]
    /// Per object number, its MiniDebugInfo extracted to a file (nil: it has none).
    private var miniDebugInfo: [Int: String?] = [:]
    /// Where extracted MiniDebugInfo files go; removed with the symbolizer.
    private var scratchDirectory: String?
    private var process: SymbolizerProcess?
    private var triedToStart = false
    private let decoder = JSONDecoder()
    /// Why symbolisation is degraded to module+offset, if it is (for a one-line warning).
    public private(set) var unavailableReason: String?
    /// Per object file on this machine: addresses looked up, and those no symbol source named.
    private var namedCounts: [String: (unnamed: Int, total: Int)] = [:]

    /// Which objects had addresses that no symbol source named (its .symtab, .dynsym, a debug
    /// file by build ID or debuglink, MiniDebugInfo), most first; nil when every one was named.
    public var unnamedNote: String? {
        let unnamed = namedCounts.filter { $0.value.unnamed > 0 }
            .sorted { ($0.value.unnamed, $1.key) > ($1.value.unnamed, $0.key) }
        guard !unnamed.isEmpty else { return nil }
        let listed = unnamed.prefix(3).map { path, counts in
            "\(counts.unnamed) of \(counts.total) addresses in \(path)"
        }.joined(separator: ", ")
        return "no symbol names " + listed + (unnamed.count > 3 ? " and \(unnamed.count - 3) more objects" : "")
            + ": those frames show as module+offset (their debug symbols, e.g. Debian's -dbgsym package under "
            + (options.debugFileDirectories.first ?? "/usr/lib/debug") + "/.build-id, would name them)"
    }

    public init(options: Options = Options()) {
        self.options = options
    }

    deinit {
        if let scratchDirectory { try? FileManager.default.removeItem(atPath: scratchDirectory) }
    }

    /// `SWHEAP_LLVM_SYMBOLIZER`, then the one of the Swift toolchain (beside `swift` on PATH,
    /// symlinks resolved), then `llvm-symbolizer` on PATH.
    static func locateLLVMSymbolizer() -> String? {
        let environment = ProcessInfo.processInfo.environment
        let path = environment["PATH"] ?? ""
        var candidates: [String] = []
        if let explicit = environment["SWHEAP_LLVM_SYMBOLIZER"], !explicit.isEmpty { candidates.append(explicit) }
        if let toolchain = toolchainDirectory(path: path) { candidates.append(toolchain + "/llvm-symbolizer") }
        candidates += path.split(separator: ":").map { $0 + "/llvm-symbolizer" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The directory of the real `swift` executable found on `path` (a toolchain's usr/bin,
    /// where llvm-symbolizer sits beside it), following symlinks such as /usr/bin/swift.
    static func toolchainDirectory(path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let swift = String(directory) + "/swift"
            guard FileManager.default.isExecutableFile(atPath: swift),
                  let resolved = realpath(swift, nil) else { continue }
            defer { free(resolved) }
            let real = String(cString: resolved)
            guard let slash = real.lastIndex(of: "/") else { continue }
            return String(real[..<slash])
        }
        return nil
    }

    /// Symbolises each distinct address (return addresses as recorded) against `modules`.
    public func symbolize(_ addresses: [UInt64], in modules: [Module]) -> [UInt64: SymbolizedLocation] {
        let map = ModuleAddressMap(modules)
        let objects = modules.map { objectNumber(for: $0) }
        var resolved: [(address: UInt64, module: Int?, offset: UInt64)] = []
        var requests: [UInt8] = []
        var requestKeys: [CacheKey] = []
        var requested = Set<CacheKey>()
        var requestPrefixByModule: [Int: String?] = [:]

        for address in Set(addresses) {
            let pc = address &- 1   // inside the call instruction
            guard let moduleIndex = map.moduleIndex(containing: pc) else {
                resolved.append((address, nil, pc)); continue
            }
            let module = modules[moduleIndex]
            let offset = pc &- module.loadBias
            resolved.append((address, moduleIndex, offset))
            let key = CacheKey(object: objects[moduleIndex], offset: offset)
            guard cache[key] == nil, !requested.contains(key) else { continue }
            let prefix = requestPrefixByModule[moduleIndex] ?? {
                let prefix = Self.requestPrefix(for: module)
                requestPrefixByModule[moduleIndex] = prefix
                return prefix
            }()
            guard let prefix else { cache[key] = []; continue }
            requests.append(contentsOf: (prefix + " " + FunctionName.hexAddress(offset) + "\n").utf8)
            requestKeys.append(key)
            requested.insert(key)
        }
        if !requestKeys.isEmpty {
            lookUp(requests, keys: requestKeys)
            lookUpInMiniDebugInfo(requestKeys, modules: modules, objects: objects)
        }

        var result: [UInt64: SymbolizedLocation] = [:]
        result.reserveCapacity(resolved.count)
        var isLocal: [Int: Bool] = [:]
        func localObject(_ index: Int) -> Bool {
            if let known = isLocal[index] { return known }
            let local = !modules[index].isVDSO && FileManager.default.fileExists(atPath: modules[index].path)
            isLocal[index] = local
            return local
        }
        for (address, moduleIndex, offset) in resolved {
            let modulePath = moduleIndex.map { modules[$0].path }
            var frames = moduleIndex.flatMap { cache[CacheKey(object: objects[$0], offset: offset)] } ?? []
            let hasFunctionName = frames.contains { !$0.function.isEmpty }
            let hasLineNumbers = frames.contains { $0.line > 0 }
            if frames.isEmpty || frames.contains(where: { $0.function.isEmpty }) {
                let fallback = FunctionName.fallback(modulePath: modulePath, offset: offset, address: address)
                if frames.isEmpty { frames = [SymbolizedFrame(function: fallback)] }
                for index in frames.indices where frames[index].function.isEmpty { frames[index].function = fallback }
            }
            if let moduleIndex, let modulePath, unavailableReason == nil, localObject(moduleIndex) {
                var counts = namedCounts[modulePath] ?? (0, 0)
                counts.total += 1
                if !hasFunctionName { counts.unnamed += 1 }
                namedCounts[modulePath] = counts
            }
            result[address] = SymbolizedLocation(address: address, moduleIndex: moduleIndex, modulePath: modulePath ?? "",
                                                 moduleOffset: offset, frames: frames,
                                                 hasFunctionName: hasFunctionName, hasLineNumbers: hasLineNumbers)
        }
        return result
    }

    private func objectNumber(for module: Module) -> Int {
        let identity = ObjectIdentity(path: module.path, buildID: module.buildID)
        if let number = objectNumbers[identity] { return number }
        objectNumbers[identity] = objectNumbers.count
        return objectNumbers.count - 1
    }

    /// How llvm-symbolizer is told which object to read: its path when it exists here, else
    /// its build ID (found under the debug file directories); nil when neither can work.
    private static func requestPrefix(for module: Module) -> String? {
        if !module.path.isEmpty, !module.isVDSO, !module.path.contains("\""), !module.path.contains("\n"),
           FileManager.default.fileExists(atPath: module.path) {
            return "\"" + module.path + "\""
        }
        return module.buildID.isEmpty ? nil : "BUILDID:" + module.buildIDHex
    }

    /// Addresses that nothing named, looked up again in the MiniDebugInfo of their object.
    private func lookUpInMiniDebugInfo(_ keys: [CacheKey], modules: [Module], objects: [Int]) {
        let unnamed = keys.filter { key in !(cache[key] ?? []).contains { !$0.function.isEmpty } }
        guard !unnamed.isEmpty else { return }
        var moduleOfObject: [Int: Module] = [:]
        for (index, object) in objects.enumerated() where moduleOfObject[object] == nil { moduleOfObject[object] = modules[index] }
        var requests: [UInt8] = []
        var retried: [CacheKey] = []
        for key in unnamed {
            guard let module = moduleOfObject[key.object], let path = miniDebugInfoPath(object: key.object, module: module)
            else { continue }
            requests.append(contentsOf: ("\"" + path + "\" " + FunctionName.hexAddress(key.offset) + "\n").utf8)
            retried.append(key)
        }
        guard !retried.isEmpty else { return }
        let previous = retried.map { cache[$0] ?? [] }
        lookUp(requests, keys: retried)
        for (index, key) in retried.enumerated() where !(cache[key] ?? []).contains(where: { !$0.function.isEmpty }) {
            cache[key] = previous[index]
        }
    }

    private func miniDebugInfoPath(object: Int, module: Module) -> String? {
        if let known = miniDebugInfo[object] { return known }
        var path: String?
        if !module.isVDSO, !module.path.contains("\""), FileManager.default.fileExists(atPath: module.path),
           let directory = scratch() {
            path = MiniDebugInfo.extract(from: module.path, into: directory, name: "object\(object).debugdata")
        }
        miniDebugInfo[object] = path
        return path
    }

    private func scratch() -> String? {
        if let scratchDirectory { return scratchDirectory }
        var template = Array((NSTemporaryDirectory() + "swheap-symbols-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { return nil }
        scratchDirectory = String(cString: made)
        return scratchDirectory
    }

    private func lookUp(_ requests: [UInt8], keys: [CacheKey]) {
        guard let process = runningProcess() else {
            for key in keys { cache[key] = [] }
            return
        }
        let progress = ProgressLine(total: keys.count, enabled: options.showsProgress)
        let decoder = self.decoder
        var answers: [[SymbolizedFrame]] = []
        answers.reserveCapacity(keys.count)
        let received = process.exchange(requests, count: keys.count) { index, line in
            guard let reply = SymbolizerReply.decode(line, with: decoder),
                  reply.Address == FunctionName.hexAddress(keys[index].offset) else { return false }   // out of step
            answers.append(reply.frames() ?? [])
            progress.update(index + 1)
            return true
        }
        progress.finish()
        for (index, key) in keys.enumerated() { cache[key] = index < received ? answers[index] : [] }
        if received < keys.count {
            unavailableReason = "llvm-symbolizer stopped answering after \(received) of \(keys.count) addresses"
            self.process = nil
        }
    }

    private func runningProcess() -> SymbolizerProcess? {
        if let process, process.isAlive { return process }
        if triedToStart { return nil }
        triedToStart = true
        guard let executable = options.executable ?? Self.locateLLVMSymbolizer() else {
            unavailableReason = "llvm-symbolizer not found (set SWHEAP_LLVM_SYMBOLIZER or put it on PATH); frames are module+offset"
            return nil
        }
        // Raw linkage names: `Demangler` reads every scheme (llvm-symbolizer's leaves Rust's legacy
        // names half done), and classification sees how each was mangled.
        var arguments = ["--output-style=JSON", "--inlines", "--no-demangle", "--functions=linkage"]
        arguments += options.debugFileDirectories.map { "--debug-file-directory=" + $0 }
        do {
            process = try SymbolizerProcess(executable: executable, arguments: arguments)
        } catch {
            unavailableReason = "\(error); frames are module+offset"
        }
        return process
    }
}

/// Sorted segment ranges for finding the module that holds an address.
struct ModuleAddressMap {
    private var ranges: [(start: UInt64, end: UInt64, module: Int)]

    init(_ modules: [Module]) {
        ranges = modules.enumerated().flatMap { index, module in
            module.segments.map { (start: $0.start, end: $0.end, module: index) }
        }.sorted { $0.start < $1.start }
    }

    func moduleIndex(containing address: UInt64) -> Int? {
        // Last range starting at or below the address.
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].start <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0, address < ranges[low - 1].end else { return nil }
        return ranges[low - 1].module
    }
}

/// "symbolising 1200/50000" on stderr, only on a terminal and only once a batch is slow.
final class ProgressLine {
    private let total: Int
    private let enabled: Bool
    private let start = DispatchTime.now().uptimeNanoseconds
    private var shown = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int) {
        guard enabled, done % 512 == 0 else { return }
        guard shown || DispatchTime.now().uptimeNanoseconds - start > 1_000_000_000 else { return }
        shown = true
        writeToStandardError("\rswheap: symbolising \(done)/\(total) addresses")
    }

    func finish() {
        if shown { writeToStandardError("\rswheap: symbolised \(total) addresses          \n") }
    }
}
