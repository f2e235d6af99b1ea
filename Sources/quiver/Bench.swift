import ArgumentParser

/// `quiver bench …`: benchmarks that print their figures beside raw FAISS on the same data in the
/// same process. Build with `-c release` (scripts/bench.sh does).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run benchmarks (build in release mode first; see scripts/bench.sh).",
        subcommands: [BenchEngine.self, BenchServer.self, BenchIVF.self, BenchFilter.self, BenchImport.self, BenchWire.self, BenchOpen.self]
    )
}
