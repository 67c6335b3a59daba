// Site names from the llvm-symbolizer based Symbolizer: every address of a process is
// symbolised once, inlined frames expanded (innermost first), runtime frames marked by
// FrameClassifier, allocation wrappers by WrapperRules (named, or found in the process's stacks).

import SwHeapDump
import SwHeapStore

public struct SymbolizedSiteNaming: SiteNaming {
    let locations: [UInt64: SymbolizedLocation]
    let classifier: FrameClassifier
    let rules: WrapperRules
    /// Wrappers found in this process's stacks (functions without arguments).
    public let detectedWrappers: Set<String>

    /// Symbolises all addresses of `process` up front (one batch: llvm-symbolizer is slow to start).
    public init(process: ProcessHeap, symbolizer: Symbolizer, classifier: FrameClassifier = FrameClassifier(),
                wrappers: WrapperRules = WrapperRules()) {
        let locations = symbolizer.symbolize(process.sites.flatMap(\.frames), in: process.modules)
        self.locations = locations
        self.classifier = classifier
        self.rules = wrappers
        let stacks = process.sites.map { site in
            site.frames.flatMap { address -> [WrapperRules.Frame] in
                guard let location = locations[address] else {
                    return [WrapperRules.Frame(function: FunctionName.hexAddress(address), address: address, isRuntime: false)]
                }
                return location.frames.map { frame in
                    WrapperRules.Frame(function: FunctionName.withoutArguments(frame.function), address: address,
                                       isRuntime: !classifier.kind(of: frame, modulePath: location.modulePath).isUser)
                }
            }
        }
        detectedWrappers = wrappers.detect(stacks)
    }

    public func names(stackID: UInt32, frames: [UInt64]) -> StackNames {
        StackNames(frames: frames.flatMap { address -> [FrameName] in
            guard let location = locations[address] else {
                return [FrameName(function: FunctionName.hexAddress(address))]
            }
            return location.frames.map { frame in
                let isRuntime = !classifier.kind(of: frame, modulePath: location.modulePath).isUser
                let name = FunctionName.withoutArguments(frame.function)
                return FrameName(function: frame.function, file: frame.file, line: frame.line, modulePath: location.modulePath,
                                 isRuntime: isRuntime,
                                 isWrapper: !isRuntime && (detectedWrappers.contains(name) || rules.isNamed(name)))
            }
        })
    }
}
