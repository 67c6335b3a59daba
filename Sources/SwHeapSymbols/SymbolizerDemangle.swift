// Demangling. Swift names go through the Swift runtime's own demangler, which the CLI already
// has loaded as part of libswiftCore; C++ and Rust names through GNU libiberty's (`Demangler`).
import CIberty
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@_silgen_name("swift_demangle")
private func runtimeSwiftDemangle(_ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: Int,
                                  _ outputBuffer: UnsafeMutablePointer<CChar>?,
                                  _ outputBufferSize: UnsafeMutablePointer<Int>?,
                                  _ flags: UInt32) -> UnsafeMutablePointer<CChar>?

public enum SwiftDemangler {
    /// True for names in the Swift 5+ mangling ($s on ELF, _$s on Mach-O), the embedded
    /// variant ($e) and the older Swift 4 prefix ($S).
    public static func isMangledSwiftName(_ name: String) -> Bool {
        name.hasPrefix("$s") || name.hasPrefix("_$s") || name.hasPrefix("$e") || name.hasPrefix("_$e")
            || name.hasPrefix("$S") || name.hasPrefix("_$S")
    }

    /// The demangled name, or nil when `name` is not a Swift symbol the runtime can demangle.
    public static func demangle(_ name: String) -> String? {
        guard isMangledSwiftName(name) else { return nil }
        let utf8 = Array(name.utf8)
        let result: UnsafeMutablePointer<CChar>? = utf8.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                runtimeSwiftDemangle($0, buffer.count, nil, nil, 0)
            }
        }
        guard let result else { return nil }
        defer { free(result) }
        return String(cString: result)
    }
}

/// Every scheme a native Linux program's symbols use, each by a maintained demangler: Swift by
/// the Swift runtime's, C++ (Itanium) and Rust (legacy and v0) by GNU libiberty's, the one
/// c++filt and gdb use. llvm-symbolizer is asked for raw linkage names so that one demangler
/// sees every name: its own reads C++ and Rust v0 but leaves Rust's legacy escapes and hashes
/// (`RawVecInner$LT$A$GT$::try_allocate_in::h0123…`) in place.
public enum Demangler {
    /// The readable name, or nil when `name` is not mangled in a scheme we know.
    public static func demangle(_ name: String) -> String? {
        if SwiftDemangler.isMangledSwiftName(name) { return SwiftDemangler.demangle(name) }
        guard name.hasPrefix("_Z") || name.hasPrefix("_R") || name.hasPrefix("__Z") || name.hasPrefix("__R") else { return nil }
        guard let result = swheap_gnu_demangle(name) else { return nil }
        defer { free(result) }
        return String(cString: result)
    }

    /// True for a Rust symbol: v0 (`_R`), or legacy (Itanium-shaped, ending in the `17h<16 hex>E`
    /// hash, perhaps followed by an LLVM `.llvm.<digits>` suffix).
    public static func isRustSymbol(_ name: String) -> Bool {
        if name.hasPrefix("_R") || name.hasPrefix("__R") { return name.count > 3 }
        guard name.hasPrefix("_ZN") else { return false }
        var body = Substring(name)
        if let dot = body.firstIndex(of: ".") { body = body[..<dot] }
        guard body.hasSuffix("E"), body.count > 21 else { return false }
        let hash = body.dropLast().suffix(19)   // "17h" + 16 hex digits
        return hash.hasPrefix("17h") && hash.dropFirst(3).allSatisfy { $0.isHexDigit }
    }
}
