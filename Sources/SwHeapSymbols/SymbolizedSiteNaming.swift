// Site names from the llvm-symbolizer based Symbolizer: every address of a process is
// symbolised once, inlined frames expanded (innermost first), runtime frames marked by
// FrameClassifier.

import SwHeapDump
import SwHeapStore

public struct SymbolizedSiteNaming: SiteNaming {
    let locations: [UInt64: SymbolizedLocation]
    let classifier: FrameClassifier

    /// Symbolises all addresses of `process` up front (one batch: llvm-symbolizer is slow to start).
    public init(process: ProcessHeap, symbolizer: Symbolizer, classifier: FrameClassifier = FrameClassifier()) {
        locations = symbolizer.symbolize(process.sites.flatMap(\.frames), in: process.modules)
        self.classifier = classifier
    }

    public func names(stackID: UInt32, frames: [UInt64]) -> StackNames {
        StackNames(frames: frames.flatMap { address -> [FrameName] in
            guard let location = locations[address] else {
                return [FrameName(function: FunctionName.hexAddress(address))]
            }
            return location.frames.map { frame in
                FrameName(function: frame.function, file: frame.file, line: frame.line, modulePath: location.modulePath,
                          isRuntime: !classifier.kind(of: frame, modulePath: location.modulePath).isUser)
            }
        })
    }
}
