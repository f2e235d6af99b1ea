import ArgumentParser

@main
struct Quiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "Quiver, a standalone vector database.",
        discussion: """
            Quiver stores vectors with typed fields durably in RocksDB and searches them exactly \
            (brute force, FAISS-class kernels). See docs/ for the architecture and benchmarks.
            """,
        version: QuiverVersion.current,
        subcommands: [Bench.self]
    )
}

enum QuiverVersion {
    static let current = "0.1.0"
}
