// swift-tools-version:6.0
//
// One module per layer; dependencies point one way:
//   QuiverCore <- QuiverStorage / QuiverIndex / QuiverFilter <- QuiverEngine <- QuiverServer <- quiver
//   QuiverCore <- QuiverProto <- QuiverWire <- QuiverServer / QuiverClient <- quiver
// Test support: QuiverTesting (data, oracle, child processes; no gRPC) <- QuiverServerTesting (a
// server process and a client for it). Benchmarks are their own executable, quiver-bench.
// See docs/architecture.md for what each layer owns.
import PackageDescription

let package = Package(
    name: "Quiver",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "quiver", targets: ["quiver"]),
        .library(name: "QuiverEngine", targets: ["QuiverEngine"]),
        .library(name: "QuiverClient", targets: ["QuiverClient"]),
        // Test support: LD_PRELOADed into a server child by the fault-injection tests.
        .library(name: "QuiverFaultInjection", type: .dynamic, targets: ["CFaultInjection"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-algorithms", from: "1.2.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        // Already swift-certificates' own; named for the IP address of a certificate made in quiver-bench.
        .package(url: "https://github.com/apple/swift-asn1", from: "1.1.0"),
    ],
    targets: [
        // Shared value types: ids, row sets, schema, metric, errors, limits. No dependencies.
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
        // The few RocksDB calls its C API lacks (statuses with their codes, Resume, recovery
        // without a flush), in C++ over the same handles.
        .target(
            name: "CRocksDBShim",
            dependencies: ["CRocksDB"],
            linkerSettings: [.linkedLibrary("rocksdb")]
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

        .target(name: "QuiverStorage", dependencies: ["QuiverCore", "CRocksDB", "CRocksDBShim"]),
        // API keys and roles: the keys file's parser and the constant-time key match, for every
        // listener (and the fuzzers) without the server around them.
        .target(name: "QuiverAuth", dependencies: ["QuiverCore", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "QuiverIndex", dependencies: ["QuiverCore", "CFaissShim", "CLZ4"]),
        .target(
            name: "QuiverFilter",
            dependencies: ["QuiverCore", .product(name: "Algorithms", package: "swift-algorithms")]
        ),
        .target(
            name: "QuiverEngine",
            dependencies: [
                "QuiverCore", "QuiverStorage", "QuiverIndex", "QuiverFilter",
                .product(name: "Algorithms", package: "swift-algorithms"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Code generated from proto/ by scripts/generate-proto.sh; nothing else.
        .target(
            name: "QuiverProto",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        // Wire <-> domain conversions and the error <-> status mapping, shared by server and client.
        .target(
            name: "QuiverWire",
            dependencies: [
                "QuiverCore", "QuiverProto",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ]
        ),
        .target(
            name: "QuiverServer",
            dependencies: [
                "QuiverCore", "QuiverAuth", "QuiverEngine", "QuiverProto", "QuiverWire",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "QuiverClient",
            dependencies: [
                "QuiverCore", "QuiverProto", "QuiverWire",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        .executableTarget(
            name: "quiver",
            dependencies: [
                "QuiverCore", "QuiverAuth", "QuiverEngine", "QuiverIndex", "QuiverServer", "QuiverClient", "QuiverWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Swift 6.3.1 crashes in release builds of this module (SILDeserializer::readVTable
            // for QuiverServer, in the PerformanceSILLinker pass) since APIKeys moved to
            // QuiverAuth; without that pass the CLI module links the same code, unoptimized
            // across modules only here (the server's and engine's modules are optimized as usual).
            swiftSettings: [.unsafeFlags(["-Xllvm", "-sil-disable-pass=performance-linker"])]
        ),

        // Interposed file operations that fail on purpose (a full disk, a failing fsync), for the
        // fault-injection tests; a shared library loaded with LD_PRELOAD, never linked into quiver.
        .target(name: "CFaultInjection", linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),

        // Test support without gRPC: seeded generators, clustered datasets, the brute-force
        // oracle, the crash workload, temporary directories and child processes. Used by the
        // tests of every layer, the crash writer and quiver-bench.
        .target(name: "QuiverTesting", dependencies: ["QuiverCore"]),
        // Test support for the server and CLI tests: a `quiver serve` child process and a client
        // connected to it, and client errors as `QuiverError`s.
        .target(
            name: "QuiverServerTesting",
            dependencies: [
                "QuiverCore", "QuiverTesting", "QuiverClient", "QuiverWire",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ]
        ),

        // The benchmarks of docs/benchmarks.md (scripts/bench.sh). Not installed.
        .executableTarget(
            name: "quiver-bench",
            dependencies: [
                "QuiverCore", "QuiverEngine", "QuiverIndex", "QuiverServer", "QuiverClient", "QuiverProto", "QuiverWire", "QuiverTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                // `server --tls` makes its certificate in-process.
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            // The same Swift 6.3.1 crash as the quiver target's (it links QuiverServer too).
            swiftSettings: [.unsafeFlags(["-Xllvm", "-sil-disable-pass=performance-linker"])]
        ),
        // The fuzz targets (scripts/fuzz.sh builds them with -sanitize=fuzzer,address -DFUZZING);
        // built normally, it replays inputs through a target (the tests replay every seed).
        .executableTarget(
            name: "quiver-fuzz",
            dependencies: [
                "QuiverCore", "QuiverAuth", "QuiverFilter", "QuiverIndex", "QuiverProto", "QuiverWire",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Child process of the kill -9 crash tests: writes seeded batches and prints each
        // acknowledgement. Test-only; not installed.
        .executableTarget(
            name: "quiver-crash-writer",
            dependencies: ["QuiverCore", "QuiverEngine", "QuiverTesting", .product(name: "Logging", package: "swift-log")]
        ),

        .testTarget(name: "QuiverCoreTests", dependencies: ["QuiverCore"]),
        .testTarget(name: "QuiverStorageTests", dependencies: ["QuiverStorage", "QuiverTesting"]),
        .testTarget(name: "QuiverIndexTests", dependencies: ["QuiverIndex", "QuiverTesting"]),
        .testTarget(name: "QuiverFilterTests", dependencies: ["QuiverFilter", "QuiverTesting"], exclude: ["testdata"]),
        .testTarget(
            name: "QuiverEngineTests",
            dependencies: [
                "QuiverEngine", "QuiverStorage", "QuiverFilter", "QuiverTesting", "quiver-crash-writer",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["testdata"]
        ),
        .testTarget(
            name: "QuiverWireTests",
            dependencies: ["QuiverWire", "QuiverProto", .product(name: "GRPCCore", package: "grpc-swift-2")]
        ),
        // Start the `quiver` binary as a child process (server, CLI verbs) and talk to it.
        .testTarget(
            name: "QuiverServerTests",
            dependencies: [
                "quiver", "QuiverAuth", "QuiverClient", "QuiverServer", "QuiverTesting", "QuiverServerTesting", "QuiverProto", "QuiverWire",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ]
        ),
        .testTarget(name: "QuiverFuzzTests", dependencies: ["quiver-fuzz", "QuiverTesting"]),
        .testTarget(
            name: "QuiverCLITests",
            dependencies: ["quiver", "quiver-bench", "QuiverClient", "QuiverTesting", "QuiverServerTesting", "QuiverWire"]
        ),
    ],
    cxxLanguageStandard: .cxx17
)
