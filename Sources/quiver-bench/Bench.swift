import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix
import QuiverServer

/// `quiver-bench …`: the benchmarks of docs/benchmarks.md, each printing its figures beside raw
/// FAISS (or the in-process engine) on the same data in the same process. A separate executable,
/// so that `quiver` ships neither the benchmarks nor the test data generators they use. Build
/// with `-c release` (scripts/bench.sh does); the benchmarks that run `quiver` commands as child
/// processes (import, restart) run the `quiver` binary beside this one.
struct QuiverBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver-bench",
        abstract: "Quiver's benchmarks (build in release mode first; see scripts/bench.sh).",
        version: QuiverServer.version,
        subcommands: [BenchEngine.self, BenchServer.self, BenchIVF.self, BenchFilter.self, BenchRecall.self, BenchImport.self, BenchWire.self, BenchOpen.self, BenchLoad.self]
    )
}

/// The process entry point, set up as `quiver`'s is (NIO's event loops as Swift Concurrency's
/// global executor) so that the in-process server of `quiver-bench server` runs as `quiver serve`
/// does.
@main
enum QuiverBenchMain {
    static func main() {
        // Must run on the main thread, once, before any task exists.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await QuiverBench.main()
            exit(0)
        }
        dispatchMain()
    }
}
