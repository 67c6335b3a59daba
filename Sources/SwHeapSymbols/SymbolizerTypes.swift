// What symbolisation yields for one return address, whatever the quality of the debug info.

/// One source-level frame at an address. An address yields several when functions were inlined.
public struct SymbolizedFrame: Hashable, Sendable {
    /// Human-readable name (demangled); `module+0xoffset` when the object names nothing here.
    public var function: String
    /// The name as the object spells it (mangled for Swift); "" when unknown.
    public var systemName: String
    /// Source file; "" when unknown.
    public var file: String
    /// Source line; 0 when unknown.
    public var line: Int
    /// True when this frame was inlined into the next (outer) frame of the same address.
    public var isInlined: Bool

    public init(function: String, systemName: String = "", file: String = "", line: Int = 0, isInlined: Bool = false) {
        self.function = function; self.systemName = systemName; self.file = file; self.line = line; self.isInlined = isInlined
    }
}

/// A symbolised return address.
public struct SymbolizedLocation: Hashable, Sendable {
    /// The return address as recorded in the dump.
    public var address: UInt64
    /// Index into the module list the address was symbolised against; nil if no module holds it.
    public var moduleIndex: Int?
    /// Path of that module (`[vdso]` for the vdso, "" if no module holds the address).
    public var modulePath: String
    /// The ELF virtual address looked up: address - 1 - load bias (inside the call instruction).
    public var moduleOffset: UInt64
    /// Innermost first; never empty (a module+offset frame when nothing better is known).
    public var frames: [SymbolizedFrame]
    /// True when the debug info or symbol table named a function.
    public var hasFunctionName: Bool
    /// True when a source file and line are known.
    public var hasLineNumbers: Bool

    public init(address: UInt64, moduleIndex: Int?, modulePath: String, moduleOffset: UInt64,
                frames: [SymbolizedFrame], hasFunctionName: Bool, hasLineNumbers: Bool) {
        self.address = address; self.moduleIndex = moduleIndex; self.modulePath = modulePath
        self.moduleOffset = moduleOffset; self.frames = frames
        self.hasFunctionName = hasFunctionName; self.hasLineNumbers = hasLineNumbers
    }

    /// The outermost frame: the function whose code holds the address.
    public var outermost: SymbolizedFrame { frames[frames.count - 1] }
}
