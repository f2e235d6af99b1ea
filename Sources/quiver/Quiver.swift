import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix
import QuiverServer

struct Quiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "Quiver, a standalone vector database.",
        discussion: """
            Quiver stores vectors with typed fields durably in RocksDB and finds their nearest \
            neighbours. 'quiver serve' runs the server; the other verbs talk to one over gRPC \
            (--server, default 127.0.0.1:7733 or $QUIVER_SERVER; --api-key or $QUIVER_API_KEY). \
            See docs/cli.md and docs/protocol.md.
            """,
        version: QuiverServer.version,
        subcommands: [
            Serve.self, Health.self, CollectionCommand.self, Upsert.self, Search.self, Get.self, Delete.self, Count.self, SegmentsCommand.self, Stats.self, Import.self, Backup.self, Restore.self, KeysCommand.self,
        ]
    )
}

/// The process entry point.
///
/// Makes NIO's event loops Swift Concurrency's global executor before any async code runs, so that
/// a gRPC call does not hop between NIO's threads and Swift's cooperative pool at every step.
/// Measured with `quiver-bench server`: an empty call over loopback took about 0.6 ms without
/// it and about half that with it (docs/benchmarks.md). Blocking work never runs on these threads:
/// RocksDB and FAISS run on the engine's own thread pools.
@main
enum QuiverMain {
    static func main() {
        // Must run on the main thread, once, before any task exists.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await Quiver.main()
            exit(0)
        }
        // The main queue keeps serving the main actor while the command runs on the event loops.
        dispatchMain()
    }
}
