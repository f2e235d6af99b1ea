import ArgumentParser
import Foundation
import Logging
import QuiverClient
import QuiverCore
import QuiverEngine
import QuiverIndex
import QuiverServer
import QuiverTesting
import QuiverWire
import Synchronization

/// `quiver-bench server`: the server benchmark of docs/benchmarks.md (with `--tls`, TLS against
/// plaintext instead: `BenchServerTLS`).
///
/// A server runs in this process on a loopback port over a fresh database; a `QuiverClient` in
/// the same process talks to it over real TCP and HTTP/2.
/// 1. Upsert N × d through the server in batches of 1,000: one client calling `Upsert` in turn,
///    several concurrent clients, and one `UpsertStream`.
/// 2. Single-query search through the server — a `Search` call per query, and a `SearchSession`
///    (one `SearchStream` call for all) — beside the same `Database.search` calls in-process on
///    the same data, rotating query by query: QPS and p50/p99 latency one query at a time, and
///    QPS with several concurrent callers; plus the latency of an empty call (`Health`) and of a
///    search over 100 rows back to back, after an idle pause and right after a big scan.
struct BenchServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Upsert throughput and search QPS/latency through the server beside in-process calls."
    )

    @Option(help: "Vectors upserted (and then searched).")
    var count = 100_000

    @Option(help: "Records per upsert batch.")
    var batchSize = 1_000

    @Option(help: "Concurrent clients for the concurrent upsert figure.")
    var writers = 4

    @Option(help: "Single queries per round.")
    var queries = 200

    @Option(help: "Rounds over the queries, each query run in-process and through the server in turn.")
    var rounds = 5

    @Option(help: "Concurrent callers for the throughput figure.")
    var callers = 4

    @Flag(help: "Instead: TLS against plaintext, a TLS and a plaintext server side by side (upsert throughput, single-query latency).")
    var tls = false

    @OptionGroup var common: BenchCommon

    private var dimension: Int { common.dimension }
    private var seed: UInt64 { common.seed }

    mutating func run() async throws {
        if common.quick {
            count = 4_000
            queries = 20
            rounds = 2
        }
        ComputeThreads.configure(openMP: 1, blas: 1)
        let workDir = common.workDirectory("server")
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        if tls {
            return try await BenchServerTLS.run(
                .init(
                    count: count, dimension: dimension, batchSize: batchSize, writers: writers, queries: queries, rounds: rounds, seed: seed,
                    workDirectory: workDir))
        }
        let logger = BenchCommon.quietLogger
        let database = try await Database.open(path: workDir, options: DatabaseOptions(syncPolicy: .always, logger: logger))
        let server = try QuiverServer.serving(
            database, options: ServerOptions(listen: ServerAddress(host: "127.0.0.1", port: 0), logger: logger))
        let bound = Mutex<ServerAddress?>(nil)
        let serving = Task { try await server.run { address in bound.withLock { $0 = address } } }
        var address: ServerAddress?
        while address == nil {
            try await Task.sleep(for: .milliseconds(5))
            address = bound.withLock { $0 }
        }
        let options = QuiverClient.Options(server: address!)
        let dimension = self.dimension
        let dataset = ClusteredDataset(dimension: dimension, clusters: 100, seed: seed)
        let vectors = dataset.points(count: count, stream: 0)
        let batches = BenchEngine.batches(vectors, dimension: dimension, batchSize: batchSize, firstID: 0)
        print("quiver-bench server — \(BenchEngine.machine()), \(ProcessInfo.processInfo.activeProcessorCount) cores, kernel \(ComputeThreads.kernelName)")
        print("server and client in this process over loopback TCP (HTTP/2, plaintext); sync=always")
        print("dataset: clustered, \(count) × \(dimension), seed \(seed)")
        print("")

        print("upsert through the server, batches of \(batchSize):")
        for (label, mode) in [("one client, Upsert in turn", 0), ("\(writers) concurrent clients, Upsert", 1), ("one UpsertStream", 2)] {
            let collection = "bench\(mode)"
            let writers = self.writers
            let elapsed = try await QuiverClient.withClient(options) { client in
                _ = try await client.createCollection(CollectionSchema(name: collection, dimension: dimension, metric: .l2))
                let started = ContinuousClock.now
                switch mode {
                case 0:
                    for batch in batches { _ = try await client.upsert(collection, batch) }
                case 1:
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for w in 0..<writers {
                            group.addTask {
                                try await QuiverClient.withClient(options) { own in
                                    for b in stride(from: w, to: batches.count, by: writers) { _ = try await own.upsert(collection, batches[b]) }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                default:
                    _ = try await client.upsertStream(collection, batches: batches.asyncStream)
                }
                return (ContinuousClock.now - started).seconds
            }
            print("  \(label.padding(toLength: 32, withPad: " ", startingAt: 0)) \(BenchEngine.format(Double(count) / elapsed)) vectors/s  (\(String(format: "%.2f", elapsed)) s)")
        }
        print("  target: at least 50,000 vectors/s")
        print("")

        // Search the first collection, in-process and through the server, in turn.
        let queryVectors = dataset.points(count: queries, stream: 1)
        let single = stride(from: 0, to: queryVectors.count, by: dimension).map { [Array(queryVectors[$0..<($0 + dimension)])] }
        // One query at a time, rotating in-process, Search and SearchSession query by query (and
        // which goes first), so that all paths see the same machine at the same moment (it is
        // shared and noisy).
        var localLatencies: [Double] = []
        var remoteLatencies: [Double] = []
        var sessionLatencies: [Double] = []
        try await QuiverClient.withClient(options) { client in
            try await client.withSearchSession { session in
                // Every path must answer the same.
                let inProcess = try await database.search("bench0", queries: single[0], k: 10)
                let viaServer = try await client.search("bench0", queries: single[0], k: 10)
                let viaSession = try await session.search("bench0", queries: single[0], k: 10)
                precondition(viaServer == inProcess && viaSession == inProcess, "the server and the database disagree")
                for round in 0..<rounds {
                    for (i, query) in single.enumerated() {
                        // Which path goes first rotates too, so none always finds warm caches.
                        for step in 0..<3 {
                            let t = ContinuousClock.now
                            switch (round + i + step) % 3 {
                            case 0:
                                _ = try await database.search("bench0", queries: query, k: 10)
                                localLatencies.append((ContinuousClock.now - t).seconds)
                            case 1:
                                _ = try await client.search("bench0", queries: query, k: 10)
                                remoteLatencies.append((ContinuousClock.now - t).seconds)
                            default:
                                _ = try await session.search("bench0", queries: query, k: 10)
                                sessionLatencies.append((ContinuousClock.now - t).seconds)
                            }
                        }
                    }
                }
            }
        }
        // Several callers at once: throughput rather than latency.
        let callers = self.callers
        /// Runs `caller` once per caller, each with its share of the query indices, all at once.
        func concurrentQPS(_ caller: @escaping @Sendable (_ indices: [Int]) async throws -> Void) async throws -> Double {
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for c in 0..<callers {
                    group.addTask { try await caller(stride(from: c, to: single.count * 2, by: callers).map { $0 % single.count }) }
                }
                try await group.waitForAll()
            }
            return Double(single.count * 2) / (ContinuousClock.now - started).seconds
        }
        var localConcurrent: [Double] = []
        var remoteConcurrent: [Double] = []
        var sessionConcurrent: [Double] = []
        try await QuiverClient.withClient(options) { client in
            for _ in 0..<max(3, rounds / 2) {
                localConcurrent.append(
                    try await concurrentQPS { for i in $0 { _ = try await database.search("bench0", queries: single[i], k: 10) } })
                remoteConcurrent.append(
                    try await concurrentQPS { for i in $0 { _ = try await client.search("bench0", queries: single[i], k: 10) } })
                sessionConcurrent.append(
                    try await concurrentQPS { indices in
                        try await client.withSearchSession { session in
                            for i in indices { _ = try await session.search("bench0", queries: single[i], k: 10) }
                        }
                    })
            }
        }
        // Batches of 100 queries per call: the per-call cost spread over 100 queries.
        let batchOf100 = (0..<max(1, single.count / 100)).map { b in (0..<100).map { single[(b * 100 + $0) % single.count][0] } }
        var localBatch: [Double] = []
        var remoteBatch: [Double] = []
        try await QuiverClient.withClient(options) { client in
            for round in 0..<(rounds * 2) {
                for (i, batch) in batchOf100.enumerated() {
                    for path in (round + i) % 2 == 0 ? [0, 1] : [1, 0] {
                        let t = ContinuousClock.now
                        if path == 0 {
                            _ = try await database.search("bench0", queries: batch, k: 10)
                            localBatch.append((ContinuousClock.now - t).seconds / 100)
                        } else {
                            _ = try await client.search("bench0", queries: batch, k: 10)
                            remoteBatch.append((ContinuousClock.now - t).seconds / 100)
                        }
                    }
                }
            }
        }
        // The cost of a call with no work: the transport's share of every call.
        var healthLatencies: [Double] = []
        var healthCPU = 0.0
        try await QuiverClient.withClient(options) { client in
            let cpu = ProcessCPU.seconds
            for _ in 0..<(single.count * 2) {
                let t = ContinuousClock.now
                _ = try await client.health()
                healthLatencies.append((ContinuousClock.now - t).seconds)
            }
            healthCPU = (ProcessCPU.seconds - cpu) / Double(single.count * 2)
        }
        // Where the server's extra time goes: a search whose scan is trivial (100 rows), called
        // back to back, after 3 ms idle, and right after an in-process search of the big
        // collection (whose scan streams more data than the L3 cache holds).
        enum Before: String, CaseIterable {
            case nothing = "back to back"
            case idle = "after 3 ms idle"
            case scan = "right after a scan"
        }
        var tinyLatencies: [Before: [Double]] = [:]
        var tinySessionLatencies: [Before: [Double]] = [:]
        try await QuiverClient.withClient(options) { client in
            _ = try await client.createCollection(CollectionSchema(name: "tiny", dimension: dimension, metric: .l2))
            _ = try await client.upsert("tiny", Array(batches.joined().prefix(100)))
            try await client.withSearchSession { session in
                for round in 0..<rounds {
                    for (i, query) in single.enumerated() {
                        let before = Before.allCases[(round + i) % Before.allCases.count]
                        for viaSession in (round + i / 3) % 2 == 0 ? [false, true] : [true, false] {
                            switch before {
                            case .nothing: break
                            case .idle: try await Task.sleep(for: .milliseconds(3))
                            case .scan: _ = try await database.search("bench0", queries: query, k: 10)
                            }
                            let t = ContinuousClock.now
                            if viaSession {
                                _ = try await session.search("tiny", queries: query, k: 10)
                                tinySessionLatencies[before, default: []].append((ContinuousClock.now - t).seconds)
                            } else {
                                _ = try await client.search("tiny", queries: query, k: 10)
                                tinyLatencies[before, default: []].append((ContinuousClock.now - t).seconds)
                            }
                        }
                    }
                }
            }
        }
        func latency(_ samples: [Double]) -> String {
            String(format: "p50 %.2f ms, p99 %.2f ms", Percentile.of(samples, 50) * 1000, Percentile.of(samples, 99) * 1000)
        }
        func qps(_ samples: [Double]) -> Double { Double(samples.count) / samples.reduce(0, +) }
        print("single-query search over \(count) × \(dimension), k=10, \(rounds * single.count) queries per path, rotating in-process, Search and SearchSession:")
        print("  one at a time:")
        print("    in-process Database.search   \(BenchEngine.format(qps(localLatencies))) QPS, \(latency(localLatencies))")
        print("    through the server, Search    \(BenchEngine.format(qps(remoteLatencies))) QPS, \(latency(remoteLatencies))")
        print("    through a SearchSession       \(BenchEngine.format(qps(sessionLatencies))) QPS, \(latency(sessionLatencies))")
        print("    ratio Search / in-process = \(String(format: "%.2f", qps(remoteLatencies) / qps(localLatencies)))")
        print("    ratio SearchSession / in-process = \(String(format: "%.2f", qps(sessionLatencies) / qps(localLatencies)))  (target ≥ 0.80)")
        print("  \(callers) callers at once (median of \(localConcurrent.count) runs):")
        print("    in-process Database.search   \(BenchEngine.format(Percentile.median(localConcurrent))) QPS")
        print("    through the server, Search    \(BenchEngine.format(Percentile.median(remoteConcurrent))) QPS")
        print("    a SearchSession per caller    \(BenchEngine.format(Percentile.median(sessionConcurrent))) QPS")
        print("    ratio Search / in-process = \(String(format: "%.2f", Percentile.median(remoteConcurrent) / Percentile.median(localConcurrent)))")
        print("    ratio SearchSession / in-process = \(String(format: "%.2f", Percentile.median(sessionConcurrent) / Percentile.median(localConcurrent)))")
        print("  batches of 100 queries per call, alternating:")
        print("    in-process Database.search   \(BenchEngine.format(qps(localBatch))) QPS")
        print("    through the server            \(BenchEngine.format(qps(remoteBatch))) QPS")
        print("    ratio server / in-process = \(String(format: "%.2f", qps(remoteBatch) / qps(localBatch)))")
        print("  an empty call (Health) through the server: \(latency(healthLatencies))")
        print("    CPU time per call, client and server together: \(Int(healthCPU * 1e6)) µs")
        print("  a search over 100 rows through the server (the call's own cost), Search | SearchSession:")
        for before in Before.allCases {
            let label = before.rawValue.padding(toLength: 30, withPad: " ", startingAt: 0)
            print("    \(label)\(latency(tinyLatencies[before] ?? [])) | \(latency(tinySessionLatencies[before] ?? []))")
        }

        server.beginGracefulShutdown()
        try await serving.value
    }
}

/// CPU time of the whole process (all threads), to put a call's latency beside the work it costs.
enum ProcessCPU {
    static var seconds: Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
