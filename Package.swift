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
            linkerSettings: [.linkedLibrary("unwind"), .linkedLibrary("pthread"), .linkedLibrary("m")]
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
        .testTarget(name: "CSwHeapTests", dependencies: ["CSwHeap", "CSwHeapFormat"]),
        .testTarget(name: "SwHeapCoreTests", dependencies: ["SwHeapCore"]),
        .testTarget(name: "IntegrationTests", dependencies: ["SwHeapCore"]),
    ]
)
