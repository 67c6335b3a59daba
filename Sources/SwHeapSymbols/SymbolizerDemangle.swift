// Swift names: llvm-symbolizer demangles only C++ (Itanium), so Swift symbols go through the
// runtime's own demangler, which the CLI already has loaded as part of libswiftCore.
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
