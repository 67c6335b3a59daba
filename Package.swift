// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swheap",
    // Supported: Linux on x86_64 and aarch64 with glibc (the shim interposes glibc's malloc).
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
        .target(
            name: "SwHeapCore",
            dependencies: [
                "CZlib",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "swheap",
            dependencies: [
                "SwHeapCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CSwHeapTests", dependencies: ["CSwHeap"]),
        .testTarget(name: "SwHeapCoreTests", dependencies: ["SwHeapCore"]),
        .testTarget(name: "IntegrationTests", dependencies: ["SwHeapCore"]),
    ]
)
