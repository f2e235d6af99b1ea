// swift-tools-version:6.0
//
// One module per layer; dependencies point one way:
//   QuiverCore <- QuiverStorage / QuiverIndex <- QuiverEngine <- quiver
// See docs/architecture.md for what each layer owns.
import PackageDescription

let package = Package(
    name: "Quiver",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "quiver", targets: ["quiver"]),
        .library(name: "QuiverEngine", targets: ["QuiverEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Shared value types: ids, schema, metric, errors, limits. No dependencies.
        .target(name: "QuiverCore"),

        // System libraries from Debian (scripts/bootstrap.sh installs them).
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // A small C++17 shim with a plain C header over Debian's static libfaiss.a (which has no C
        // API compiled in) plus Quiver's own flat-scan kernels.
        .target(
            name: "CFaissShim",
            linkerSettings: [
                .linkedLibrary("faiss"),
                .linkedLibrary("lapack"),
                .linkedLibrary("blas"),
                .linkedLibrary("gomp"),
                .linkedLibrary("m"),
            ]
        ),

        .target(name: "QuiverStorage", dependencies: ["QuiverCore", "CRocksDB", "CLZ4"]),
        .target(name: "QuiverIndex", dependencies: ["QuiverCore", "CFaissShim"]),
        .target(
            name: "QuiverEngine",
            dependencies: [
                "QuiverCore", "QuiverStorage", "QuiverIndex",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Seeded generators, clustered datasets and the brute-force oracle; used by the tests and
        // by `quiver bench`.
        .target(name: "QuiverTesting", dependencies: ["QuiverCore"]),

        .executableTarget(
            name: "quiver",
            dependencies: [
                "QuiverCore", "QuiverEngine", "QuiverIndex", "QuiverTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Child process of the kill -9 crash tests: writes seeded batches and prints each
        // acknowledgement. Test-only; not installed.
        .executableTarget(
            name: "quiver-crash-writer",
            dependencies: ["QuiverCore", "QuiverEngine", "QuiverTesting"]
        ),

        .testTarget(name: "QuiverCoreTests", dependencies: ["QuiverCore"]),
        .testTarget(name: "QuiverStorageTests", dependencies: ["QuiverStorage", "QuiverTesting"]),
        .testTarget(name: "QuiverIndexTests", dependencies: ["QuiverIndex", "QuiverTesting"]),
        .testTarget(
            name: "QuiverEngineTests",
            dependencies: ["QuiverEngine", "QuiverTesting", "quiver-crash-writer"]
        ),
        // Drives the `quiver` binary as a child process.
        .testTarget(name: "QuiverCLITests", dependencies: ["quiver"]),
    ],
    cxxLanguageStandard: .cxx17
)
