// Which frames belong to the allocator or a language runtime, so that a site is named after
// the user code that asked for memory. A fallback until FrameClassifier is wired in; kept
// deliberately conservative (an unknown frame counts as user code).

enum RuntimeFrames {
    static let runtimeModules = ["libc.so", "libc-", "libstdc++", "libc++", "libc++abi", "libgcc_s",
                                 "libswiftCore", "libswift_", "libFoundation", "libdispatch", "ld-linux",
                                 "libswheap", "libjemalloc", "libtcmalloc", "libm.so"]
    static let runtimeFunctionPrefixes = ["operator new", "operator delete", "std::", "__gnu_cxx::", "__cxa_",
                                          "__cxxabiv1::", "malloc", "calloc", "realloc", "reallocarray", "memalign",
                                          "posix_memalign", "aligned_alloc", "valloc", "pvalloc", "strdup", "strndup",
                                          "__strdup", "__libc_", "_IO_", "swift_", "Swift.", "_swift_", "$ss"]

    static func isRuntime(function: String, modulePath: String) -> Bool {
        let module = modulePath.split(separator: "/").last.map(String.init) ?? modulePath
        if !module.isEmpty && runtimeModules.contains(where: { module.hasPrefix($0) }) { return true }
        return runtimeFunctionPrefixes.contains { function.hasPrefix($0) }
    }
}
