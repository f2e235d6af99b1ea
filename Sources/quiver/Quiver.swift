import ArgumentParser
import QuiverServer

@main
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
            Serve.self, Health.self, CollectionCommand.self, Upsert.self, Search.self, Get.self, Delete.self, Bench.self,
        ]
    )
}
