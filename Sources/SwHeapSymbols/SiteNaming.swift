// How the ranker learns what a stack's frames are called. A protocol, so tests can name sites
// with plain strings and the CLI can use the llvm-symbolizer based `SymbolizedSiteNaming`.

/// One source-level frame of a stack (an inlined call expands to several).
public struct FrameName: Hashable, Sendable {
    /// Demangled function name, or `module+0xoffset` when unknown.
    public var function: String
    /// Source file ("" when unknown) and line (0 when unknown).
    public var file: String
    public var line: Int
    /// Path of the object holding the address ("" when unknown).
    public var modulePath: String
    /// Allocator, C/C++ runtime or Swift runtime code: never the site a user should look at.
    public var isRuntime: Bool
    /// The program's own allocation wrapper (`zmalloc`, `xmalloc`): its caller is the site,
    /// named "caller (via wrapper)". See `WrapperRules`.
    public var isWrapper: Bool

    public init(function: String, file: String = "", line: Int = 0, modulePath: String = "", isRuntime: Bool = false,
                isWrapper: Bool = false) {
        self.function = function; self.file = file; self.line = line
        self.modulePath = modulePath; self.isRuntime = isRuntime; self.isWrapper = isWrapper
    }

    /// `func (file:line)`, `func (file)`, `func (module)` or `func`: one line of a report's stack.
    public var displayText: String {
        if !file.isEmpty { return line > 0 ? "\(function) (\(file):\(line))" : "\(function) (\(file))" }
        if !modulePath.isEmpty { return "\(function) (\(modulePath.split(separator: "/").last.map(String.init) ?? modulePath))" }
        return function
    }
}

/// A named stack, innermost frame first.
public struct StackNames: Hashable, Sendable {
    public var frames: [FrameName]

    public init(frames: [FrameName]) { self.frames = frames }

    /// Index of the site frame: the first that is neither allocator or runtime code nor an
    /// allocation wrapper; the outermost wrapper when nothing above it is the program's; the
    /// outermost frame when all are runtime code. Nil for an empty stack.
    public var siteFrameIndex: Int? {
        frames.firstIndex { !$0.isRuntime && !$0.isWrapper }
            ?? frames.lastIndex { !$0.isRuntime }
            ?? (frames.isEmpty ? nil : frames.count - 1)
    }

    /// The site frame (see `siteFrameIndex`).
    public var firstUserFrame: FrameName? { siteFrameIndex.map { frames[$0] } }

    /// The wrapper the site frame calls (the outermost one below it), without arguments.
    public var wrapper: String? {
        guard let index = siteFrameIndex, index > 0,
              let outer = frames[..<index].lastIndex(where: { $0.isWrapper && !$0.isRuntime }) else { return nil }
        return FunctionName.withoutArguments(frames[outer].function)
    }

    /// What reports call the site: that frame's function without arguments, and the wrapper it
    /// allocates through: `createClient (via zmalloc)`.
    /// A site frame no symbol names (`app+0x11d1c`) says so, with the nearest caller that has
    /// a name: `app+0x11d1c (no symbol; called from conn_new)`.
    public var siteName: String {
        guard let index = siteFrameIndex else { return "(no frames)" }
        let name = FunctionName.withoutArguments(frames[index].function)
        var notes: [String] = []
        if let wrapper { notes.append("via " + wrapper) }
        if FunctionName.isFallback(name) {
            let caller = frames[(index + 1)...].first { !$0.isRuntime && !FunctionName.isFallback($0.function) }
            notes.append(caller.map { "no symbol; called from " + FunctionName.withoutArguments($0.function) } ?? "no symbol")
        }
        return notes.isEmpty ? name : name + " (" + notes.joined(separator: "; ") + ")"
    }
}

/// Names the stacks of one process.
public protocol SiteNaming {
    func names(stackID: UInt32, frames: [UInt64]) -> StackNames
}

/// Names from a closure (tests, or callers with their own symbol tables).
public struct ClosureSiteNaming: SiteNaming {
    let body: (UInt32, [UInt64]) -> StackNames
    public init(_ body: @escaping (UInt32, [UInt64]) -> StackNames) { self.body = body }
    public func names(stackID: UInt32, frames: [UInt64]) -> StackNames { body(stackID, frames) }
}
