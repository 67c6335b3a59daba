// Site names from the llvm-symbolizer based Symbolizer: every address of a process is
// symbolised once, inlined frames expanded (innermost first), runtime frames marked by
// FrameClassifier, allocation wrappers by WrapperRules (named, or found in the process's stacks).

import SwHeapDump
import SwHeapStore

public struct SymbolizedSiteNaming: SiteNaming {
    let locations: [UInt64: SymbolizedLocation]
    /// Per address, its frames' functions without arguments and whether each is the runtime's:
    /// parsed once for all the sites that share the address (names were a seventh of a long
    /// report when parsed per site and frame).
    let parsed: [UInt64: [ParsedFrame]]
    let rules: WrapperRules
    /// Wrappers found in this process's stacks (functions without arguments).
    public let detectedWrappers: Set<String>

    struct ParsedFrame: Sendable {
        var name: String
        var isRuntime: Bool
    }

    /// Symbolises all addresses of `process` up front (one batch: llvm-symbolizer is slow to start).
    public init(process: ProcessHeap, symbolizer: Symbolizer, classifier: FrameClassifier = FrameClassifier(),
                wrappers: WrapperRules = WrapperRules()) {
        let locations = symbolizer.symbolize(process.sites.flatMap(\.frames), in: process.modules)
        let parsed = locations.mapValues { location in
            location.frames.map { frame in
                ParsedFrame(name: FunctionName.withoutArguments(frame.function),
                            isRuntime: !classifier.kind(of: frame, modulePath: location.modulePath).isUser)
            }
        }
        self.locations = locations
        self.parsed = parsed
        self.rules = wrappers
        let stacks = process.sites.map { site in
            site.frames.flatMap { address -> [WrapperRules.Frame] in
                guard let frames = parsed[address] else {
                    return [WrapperRules.Frame(function: FunctionName.hexAddress(address), address: address, isRuntime: false)]
                }
                return frames.map { WrapperRules.Frame(function: $0.name, address: address, isRuntime: $0.isRuntime) }
            }
        }
        detectedWrappers = wrappers.detect(stacks)
    }

    public func names(stackID: UInt32, frames: [UInt64]) -> StackNames {
        StackNames(frames: frames.flatMap { address -> [FrameName] in
            guard let location = locations[address], let parsedFrames = parsed[address] else {
                return [FrameName(function: FunctionName.hexAddress(address))]
            }
            return zip(location.frames, parsedFrames).map { frame, parsed in
                FrameName(function: frame.function, file: frame.file, line: frame.line, modulePath: location.modulePath,
                          isRuntime: parsed.isRuntime,
                          isWrapper: !parsed.isRuntime && (detectedWrappers.contains(parsed.name) || rules.isNamed(parsed.name)))
            }
        })
    }
}
