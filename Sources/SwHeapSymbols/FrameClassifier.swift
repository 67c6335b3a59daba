// Tells the allocator's and language runtimes' frames from the program's own, so outputs can
// name the first frame of the user's code as the allocation *site* instead of `malloc`,
// `operator new` or `Swift._ContiguousArrayBuffer.init`.

enum FrameKind: String, Sendable, CaseIterable {
    /// The swheap shim itself.
    case profiler
    /// malloc and friends, in libc or a replacement allocator.
    case allocator
    /// Other C library code (strdup, fopen, ...) and the dynamic loader.
    case cRuntime
    /// libstdc++ / libc++ / libgcc, `operator new`, `std::` containers and allocators.
    case cxxRuntime
    /// The Swift runtime and standard library (swift_allocObject, Array/String growth, ...).
    case swiftRuntime
    /// Rust's standard library (`alloc::`, `core::`, `std::`, `hashbrown::`), linked into the
    /// program: `alloc::alloc::alloc`, `alloc::raw_vec::...`, `<alloc::alloc::Global as
    /// core::alloc::Allocator>::allocate`, `HashMap::insert`, and the allocator shims.
    case rustRuntime
    /// Everything else: the program and its own libraries.
    case user

    var isUser: Bool { self == .user }
}

public struct FrameClassifier: Sendable {
    public init() {}

    /// Classifies one frame by its module first (a whole runtime library is never the site),
    /// then by name (runtime code inlined or statically linked into the program).
    func kind(of frame: SymbolizedFrame, modulePath: String) -> FrameKind {
        if let kind = Self.kind(ofModule: modulePath) { return kind }
        return Self.kind(ofFunction: frame.function, systemName: frame.systemName, file: frame.file)
    }

    /// Walking from the leaf, the first frame of user code: (index into `stack`, index into
    /// that location's frames, innermost first). Nil when every frame is runtime code.
    func firstUserFrame(in stack: [SymbolizedLocation]) -> (location: Int, frame: Int)? {
        for (locationIndex, location) in stack.enumerated() {
            for (frameIndex, frame) in location.frames.enumerated()
            where kind(of: frame, modulePath: location.modulePath).isUser {
                return (locationIndex, frameIndex)
            }
        }
        return nil
    }

    /// The frame to call the allocation site: the first user frame, or the leaf when the whole
    /// stack is runtime code. Nil only for an empty stack.
    func siteFrame(in stack: [SymbolizedLocation]) -> SymbolizedFrame? {
        if let (location, frame) = firstUserFrame(in: stack) { return stack[location].frames[frame] }
        return stack.first?.frames.first
    }

    // MARK: Modules

    static func kind(ofModule path: String) -> FrameKind? {
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        if name.hasPrefix("libswheap.") { return .profiler }
        if ["libjemalloc.", "libtcmalloc", "libmimalloc."].contains(where: name.hasPrefix) { return .allocator }
        if name.hasPrefix("libc.so") || name.hasPrefix("libc-") || name.hasPrefix("ld-linux") || name.hasPrefix("ld-2.") {
            return .cRuntime
        }
        if ["libstdc++.", "libc++.", "libc++abi.", "libgcc_s.", "libsupc++."].contains(where: name.hasPrefix) {
            return .cxxRuntime
        }
        if ["libswiftCore.", "libswift_Concurrency.", "libswift_StringProcessing.", "libswift_RegexParser."]
            .contains(where: name.hasPrefix) {
            return .swiftRuntime
        }
        return nil
    }

    // MARK: Names

    static let allocatorFunctions: Set<String> = [
        "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign", "aligned_alloc",
        "memalign", "valloc", "pvalloc", "sysmalloc", "cfree",
    ]
    static let cLibraryAllocatingFunctions: Set<String> = [
        "strdup", "strndup", "__strdup", "__strndup", "wcsdup", "asprintf", "vasprintf", "__vasprintf_internal",
        "getline", "getdelim", "open_memstream", "realpath", "scandir", "tsearch",
    ]

    static func kind(ofFunction function: String, systemName: String, file: String = "") -> FrameKind {
        if function.hasPrefix("swheap_") { return .profiler }
        if allocatorFunctions.contains(function) || function.hasPrefix("__libc_") || function.hasPrefix("_int_")
            || function.hasPrefix("tcache_") || function.hasPrefix("je_") || function.hasPrefix("tc_") {
            return .allocator
        }
        if cLibraryAllocatingFunctions.contains(function) { return .cRuntime }
        if isRustLibraryFrame(function: function, systemName: systemName, file: file) { return .rustRuntime }
        if SwiftDemangler.isMangledSwiftName(systemName) {
            return isSwiftStandardLibrarySymbol(mangled: systemName, demangled: function) ? .swiftRuntime : .user
        }
        if function.hasPrefix("swift_") || function.hasPrefix("_swift_") || function.hasPrefix("__swift_")
            || function.hasPrefix("swift::") {
            return .swiftRuntime
        }
        let name = FunctionName.withoutArguments(function)
        if name.hasPrefix("operator new") || name.hasPrefix("operator delete") || name.hasPrefix("__cxa_")
            || ["std::", "__gnu_cxx::", "__cxxabiv1::", "__gnu_debug::"].contains(where: name.hasPrefix) {
            return .cxxRuntime
        }
        return .user
    }

    /// Swift stdlib entities mangle with the `s` module context (`$ss16_ValidUTF8Buffer...`) or a
    /// standard substitution `S<letter>` (`$sSa` Array, `$sSS` String, `$sSD` Dictionary, ...;
    /// `So` is the imported-C module and `Sc` the concurrency types). Generic specialisations
    /// compiled into the program keep the prefix, which is what we want. An extension declared in
    /// the program on a stdlib type is the program's code.
    static func isSwiftStandardLibrarySymbol(mangled: String, demangled: String) -> Bool {
        if demangled.hasPrefix("(extension in "), !demangled.hasPrefix("(extension in Swift):") { return false }
        var rest = Substring(mangled)
        rest = rest.hasPrefix("_") ? rest.dropFirst(3) : rest.dropFirst(2)
        guard let first = rest.first else { return false }
        if first == "s" { return true }
        guard first == "S", let second = rest.dropFirst().first else { return false }
        return second.isLetter && second != "o" && second != "C"
    }

    // MARK: Rust

    /// The crates of Rust's standard library (hashbrown is the map inside std's HashMap).
    static let rustLibraryCrates: Set<String> = ["alloc", "core", "std", "hashbrown", "proc_macro", "test"]
    static let rustPrimitives: Set<String> = [
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char", "str", "!", "()",
    ]

    /// A frame of Rust's standard library. Only for frames known to be Rust, by their mangled
    /// name (legacy or v0) or their source file in the library's tree, so that a C++ namespace
    /// `core::` stays the program's; and the allocator shims rustc generates.
    static func isRustLibraryFrame(function: String, systemName: String, file: String) -> Bool {
        if ["__rust_", "__rdl_", "__rg_"].contains(where: function.hasPrefix) { return true }
        let libraryTrees: [StaticString] = ["/library/alloc/src/", "/library/core/src/", "/library/std/src/"]
        if libraryTrees.contains(where: { file.lastRange(ofASCII: $0) != nil }) { return true }
        guard Demangler.isRustSymbol(systemName) else { return false }
        return isRustLibraryPath(FunctionName.withoutArguments(function))
    }

    /// `alloc::raw_vec::RawVecInner<A>::try_allocate_in`: the first path segment is a library
    /// crate. `<X as T>::f` is the library's when both the type and the trait are (a program's
    /// `impl Clone for Session` is its own code); `<X>::f` when the type is.
    static func isRustLibraryPath(_ path: String) -> Bool {
        var text = Substring(path)
        for prefix in ["&mut ", "&", "*const ", "*mut ", "dyn "] where text.hasPrefix(prefix) {
            text = text.dropFirst(prefix.count)
        }
        if text.hasPrefix("[") || text.hasPrefix("(") {
            return true   // slices, arrays and tuples: their impls are the library's
        }
        if text.hasPrefix("<") {
            guard let close = matchingAngle(in: text) else { return false }
            let inner = text[text.index(after: text.startIndex)..<close]
            if let separator = topLevelAs(in: inner) {
                return isRustLibraryPath(String(inner[..<separator.lowerBound]))
                    && isRustLibraryPath(String(inner[separator.upperBound...]))
            }
            return isRustLibraryPath(String(inner))
        }
        let end = text.firstIndex { $0 == ":" || $0 == "<" || $0 == " " } ?? text.endIndex
        let root = String(text[..<end])
        return rustLibraryCrates.contains(root) || rustPrimitives.contains(root)
    }

    private static func matchingAngle(in text: Substring) -> Substring.Index? {
        var depth = 0
        var index = text.startIndex
        while index < text.endIndex {
            switch text[index] {
            case "<": depth += 1
            case ">" where index > text.startIndex && text[text.index(before: index)] == "-": break   // "->"
            case ">":
                depth -= 1
                if depth == 0 { return index }
            default: break
            }
            index = text.index(after: index)
        }
        return nil
    }

    private static func topLevelAs(in text: Substring) -> Range<Substring.Index>? {
        var depth = 0
        var index = text.startIndex
        while index < text.endIndex {
            switch text[index] {
            case "<", "(", "[": depth += 1
            case ">", ")", "]": depth -= 1
            case " " where depth == 0 && text[index...].hasPrefix(" as "):
                return index..<text.index(index, offsetBy: 4)
            default: break
            }
            index = text.index(after: index)
        }
        return nil
    }

    // MARK: pprof

    /// For pprof's `drop_frames`: a regex (RE2, matched against the whole function name up to its
    /// first "(") for frames that only ever sit *below* the user's code. pprof removes a
    /// matching frame and every frame beneath it, scanning from the root, so this list is
    /// narrower than `kind(of:)`: `std::` or `Swift.` in general also names frames that call back
    /// into user code (std::thread, Array.map), and dropping those would drop the user's frames too.
    /// Template arguments are optional in the C++ patterns: pprof strips them (and parameters)
    /// from names whose Name equals their SystemName before it applies drop_frames.
    public static let dropFramesPattern: String = {
        let returnType = "(?:.* )?"
        let swiftPrefix = "(?:(?:generic specialization <.*> of |specialized |merged )*)"
        let c = [
            "malloc", "calloc", "realloc", "reallocarray", "free", "cfree", "posix_memalign", "aligned_alloc",
            "memalign", "valloc", "pvalloc", "sysmalloc", "__libc_[a-z_]*alloc[a-z_]*", "__libc_free",
            "_int_[a-z_]+", "tcache_[a-z_]+", "(?:__)?strn?dup", "wcsdup", "v?asprintf", "__vasprintf_internal",
            "swheap_[A-Za-z0-9_]+", "je_[A-Za-z0-9_]+", "tc_[A-Za-z0-9_]+",
        ]
        let rust = [
            "__rust_[a-z_]*alloc[a-z_]*", "__rdl_[a-z_]+", "__rg_[a-z_]+", "alloc::alloc::[a-z_]+",
            "<alloc::alloc::Global.*", "alloc::raw_vec::.*", "<alloc::raw_vec::.*", "alloc::vec::from_elem.*",
        ]
        let cxx = [
            "operator new.*", "operator delete.*", "__cxa_allocate_exception",
            returnType + "__gnu_cxx::new_allocator(?:<.*>)?::allocate.*",
            returnType + "std::__new_allocator(?:<.*>)?::allocate.*",
            returnType + "std::allocator(?:<.*>)?::allocate.*",
            returnType + "std::allocator_traits(?:<.*>)?::allocate.*",
            returnType + "std::_Vector_base(?:<.*>)?::_M_allocate.*",
            returnType + "std::vector(?:<.*>)?::_M_(?:realloc_insert|realloc_append|default_append|fill_insert|range_insert).*",
            returnType + "std::__cxx11::basic_string(?:<.*>)?::_M_(?:create|mutate|construct|append|replace).*",
            returnType + "std::__detail::_Hashtable_alloc(?:<.*>)?::_M_allocate_.*",
            returnType + "std::_Hashtable(?:<.*>)?::_M_(?:rehash|allocate_buckets).*",
            returnType + "std::_Rb_tree(?:<.*>)?::_M_(?:get_node|create_node).*",
            returnType + "std::__shared_count(?:<.*>)?::__shared_count.*",
            returnType + "std::__allocate_guarded.*",
        ]
        let swift = [
            "swift_slowAlloc", "swift_allocObject", "swift_allocBox", "swift_allocEmptyBox", "swift_task_alloc",
            "_swift_allocObject_", "swift::swift_slowAlloc.*",
            swiftPrefix + "Swift\\.(?:_ContiguousArrayBuffer|_ArrayBuffer|__ContiguousArrayStorageBase|__StringStorage"
                + "|_DictionaryStorage|_SetStorage|ManagedBuffer\\.create|_allocateUninitializedArray"
                + "|_copyCollectionToContiguousArray|_copySequenceToContiguousArray"
                + "|Array\\.(?:_createNewBuffer|_copyToNewBuffer|reserveCapacity|_reserveCapacityImpl|append"
                + "|_allocateUninitialized|init|_allocateBufferUninitialized)"
                + "|ContiguousArray\\.(?:_createNewBuffer|_copyToNewBuffer|reserveCapacity|append)"
                + "|_StringGuts\\.(?:grow|reserveCapacity|_allocateForDeconstruct|append|prepareForAppendInPlace)"
                + "|String\\.(?:append|reserveCapacity)"
                + "|_NativeDictionary\\.(?:resize|copyAndResize|ensureUnique|_copyOrMoveAndResize|setValue|insertNew)"
                + "|Dictionary\\._Variant\\.setValue"
                + "|_NativeSet\\.(?:resize|copyAndResize|ensureUnique|_copyOrMoveAndResize)).*",
        ]
        return (c + cxx + rust + swift).joined(separator: "|")
    }()
}
