// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swheap",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "swheap", targets: ["swheap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // The preload shim's testable parts (sampler maths, address set, stack table).
        // libswheap.so itself is built by scripts/build with the C compiler so that no
        // Swift runtime is loaded into profiled programs; the hook and dump files are
        // excluded here because they would interpose malloc in the test process.
        .target(
            name: "CSwHeap",
            exclude: ["hooks.c", "record.c", "buffer.c", "dump.c", "dumper.c", "modules.c", "unwind.c", "config.c", "scan.c", "shim.h"],
            cSettings: [.unsafeFlags(["-std=c11"])],
            linkerSettings: [.linkedLibrary("m")]
        ),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The dump format's layout, one C header shared by the shim and the Swift reader.
        .target(name: "CSwHeapFormat"),

        // The CLI's stages, each a target so the compiler keeps the boundaries:
        // system calls -> dump format -> heap store -> symbols -> ranking -> output -> swheap.
        .target(name: "SwHeapSystem"),
        .target(name: "SwHeapDump", dependencies: ["CSwHeapFormat", "SwHeapSystem"]),
        .target(name: "SwHeapStore", dependencies: ["SwHeapDump"]),
        .target(name: "SwHeapSymbols", dependencies: ["SwHeapStore"]),
        .target(name: "SwHeapRanking", dependencies: ["SwHeapSymbols"]),
        .target(
            name: "SwHeapOutput",
            dependencies: [
                "SwHeapRanking",
                "CZlib",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // What only tests, benchmarks and `swheap synth` use: the dump writer, the heap
        // simulator, synthetic processes, running tools and compiling fixtures.
        .target(name: "SwHeapTestSupport", dependencies: ["SwHeapRanking", "CSwHeapFormat"]),
        .executableTarget(
            name: "swheap",
            dependencies: [
                "SwHeapOutput",
                "SwHeapTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CSwHeapTests", dependencies: ["CSwHeap"]),
        // Pure Swift: no compiler, tool or shim is run.
        .testTarget(name: "UnitTests", dependencies: ["SwHeapOutput", "SwHeapTestSupport"]),
        // Compile fixtures, run them under the real shim, call the CLI, llvm-symbolizer and
        // `go tool pprof`. Needs scripts/build first (scripts/test does it).
        .testTarget(name: "IntegrationTests", dependencies: ["SwHeapOutput", "SwHeapTestSupport"]),
    ]
)
