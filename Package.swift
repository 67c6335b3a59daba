// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swheap",
    // Supported: Linux on x86_64 with glibc (the shim reads x86-64 registers and TLS at exit).
    products: [
        .executable(name: "swheap", targets: ["swheap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The dump layout, once: a C header with static assertions (swheap_format.h).
        .target(name: "CSwHeapFormat"),
        // The preload shim's core: everything but the allocator entry points, which live in
        // Sources/CSwHeapPreload and are compiled only into libswheap.so (by scripts/build,
        // with the C compiler, so that no Swift runtime is loaded into profiled programs).
        // Linking this target replaces no malloc and starts nothing: the unit tests call it.
        .target(
            name: "CSwHeap",
            dependencies: ["CSwHeapFormat"],
            cSettings: [.unsafeFlags(["-std=c11"])],
            linkerSettings: [.linkedLibrary("unwind"), .linkedLibrary("pthread"), .linkedLibrary("m"), .linkedLibrary("z")]
        ),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // C++ and Rust demangling (GNU libiberty, Debian's libiberty-dev).
        .systemLibrary(name: "CIberty", path: "Sources/CIberty"),
        // MiniDebugInfo (.gnu_debugdata) is xz-compressed (liblzma-dev).
        .systemLibrary(name: "CLzma", path: "Sources/CLzma"),

        // The CLI's stages, each a target so the compiler keeps the boundaries:
        // system calls -> dump format -> heap store -> symbols -> ranking -> output -> swheap.
        .target(name: "SwHeapSystem"),
        .target(name: "SwHeapDump", dependencies: ["CSwHeapFormat", "CZlib", "SwHeapSystem"]),
        .target(name: "SwHeapStore", dependencies: ["SwHeapDump"]),
        .target(name: "SwHeapSymbols", dependencies: ["SwHeapStore", "CIberty", "CLzma"]),
        .target(name: "SwHeapRanking", dependencies: ["SwHeapSymbols", "CSwHeapFormat"]),
        .target(
            name: "SwHeapOutput",
            dependencies: [
                "SwHeapRanking",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // `swheap serve`: a directory being written, kept loaded (only new dumps are read) and
        // served over HTTP as Prometheus metrics, pprof and the HTML report.
        .target(
            name: "SwHeapServe",
            dependencies: [
                "SwHeapOutput",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `swheap synth`: dumps written exactly as the shim writes them (DumpWriter,
        // LoggedDumpWriter) for deterministic made-up processes. Tests and benchmarks use it too.
        .target(name: "SwHeapSynth", dependencies: ["SwHeapDump", "SwHeapSystem", "CSwHeapFormat"]),
        // What only tests use, never linked into the product: the heap simulator, running
        // tools, compiling fixtures, scratch directories.
        .target(name: "SwHeapTestSupport", dependencies: ["SwHeapSynth", "SwHeapRanking", "CSwHeapFormat"]),
        .executableTarget(
            name: "swheap",
            dependencies: [
                "SwHeapOutput",
                "SwHeapServe",
                "SwHeapSynth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CSwHeapTests", dependencies: ["CSwHeap", "CSwHeapFormat", "CZlib"]),
        // One per stage, beside it. Pure Swift: no compiler, tool or shim is run.
        .testTarget(name: "SwHeapSystemTests", dependencies: ["SwHeapSystem", "SwHeapTestSupport"]),
        .testTarget(name: "SwHeapDumpTests", dependencies: ["SwHeapDump", "SwHeapSynth"]),
        // Some also rank what they loaded: v1 and v2 of one run must give the same verdicts.
        .testTarget(name: "SwHeapStoreTests", dependencies: ["SwHeapStore", "SwHeapRanking", "SwHeapSynth", "SwHeapTestSupport"]),
        .testTarget(name: "SwHeapSymbolsTests", dependencies: ["SwHeapSymbols", "SwHeapTestSupport"]),
        // Some check a ranking as the report words and prints it (reasons, table, JSON).
        .testTarget(name: "SwHeapRankingTests", dependencies: ["SwHeapRanking", "SwHeapOutput", "SwHeapSynth", "SwHeapTestSupport"]),
        .testTarget(name: "SwHeapOutputTests", dependencies: ["SwHeapOutput", "SwHeapTestSupport"]),
        // Compile fixtures, run them under the real shim, call the CLI, llvm-symbolizer and
        // `go tool pprof`. Needs scripts/build first (scripts/test does it).
        .testTarget(name: "IntegrationTests", dependencies: ["SwHeapOutput", "SwHeapSynth", "SwHeapTestSupport", "CSwHeapFormat"]),
    ]
)
