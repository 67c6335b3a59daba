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

    public init(function: String, file: String = "", line: Int = 0, modulePath: String = "", isRuntime: Bool = false) {
        self.function = function; self.file = file; self.line = line
        self.modulePath = modulePath; self.isRuntime = isRuntime
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

    /// The first frame that is not allocator or runtime code; the outermost if all are.
    public var firstUserFrame: FrameName? { frames.first { !$0.isRuntime } ?? frames.last }

    /// What reports call the site: that frame's function without arguments.
    public var siteName: String {
        firstUserFrame.map { FunctionName.withoutArguments($0.function) } ?? "(no frames)"
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
