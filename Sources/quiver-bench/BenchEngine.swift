import ArgumentParser
import Foundation
import Logging
import QuiverCore
import QuiverEngine
import QuiverIndex
import QuiverTesting

/// `quiver-bench engine`: the engine-core benchmark of docs/benchmarks.md.
///
/// 1. Ingest: batches of 1,000 vectors through `Database.upsert`, under each sync policy, with one
///    writer and with several concurrent writers (group commit), each into a fresh database.
/// 2. Exact search over N × d: single queries and batches of 100, Quiver's full `search` call
///    beside FAISS `IndexFlat.search` and a plain Swift SIMD loop on the same vectors in the same
///    process. Runs alternate
///    (FAISS, Quiver, FAISS, …) and the medians are compared, since the machine is shared and
///    noisy. FAISS runs at its best thread setting (tried: OpenMP × OpenBLAS threads).
/// 3. Reopen: time for `Database.open` to rebuild memory from RocksDB for M × d vectors.
struct BenchEngine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Ingest throughput, exact search beside raw FAISS IndexFlat, and reopen time."
    )

    @Option(help: "Vectors ingested per sync policy.")
    var ingestCount = 200_000

    @Option(help: "Records per upsert batch.")
    var batchSize = 1_000

    @Option(help: "Concurrent writers for the group-commit ingest figures.")
    var writers = 4

    @Option(help: "Vectors in the collection searched.")
    var searchCount = 100_000

    @Option(help: "Vectors in the database reopened.")
    var reopenCount = 1_000_000

    @Option(help: "Alternating repetitions of each search measurement (medians are reported).")
    var repeats = 11

    @Option(help: "Single queries per repetition.")
    var singleQueries = 200

    @Option(help: "Batches of 100 queries per repetition.")
    var batchQueries = 10

    @OptionGroup var common: BenchCommon

    private var dimension: Int { common.dimension }
    private var seed: UInt64 { common.seed }

    mutating func run() async throws {
        if common.quick {
            ingestCount = 4_000
            searchCount = 2_000
            reopenCount = 10_000
            repeats = 1
            singleQueries = 10
            batchQueries = 1
        }
        let workDir = common.workDirectory("engine")
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let dataset = ClusteredDataset(dimension: dimension, clusters: 100, seed: seed)
        print("quiver-bench engine — \(Self.machine()), \(cores) cores, kernel \(ComputeThreads.kernelName)")
        print("dataset: clustered, d=\(dimension), 100 clusters, seed \(seed)")
        print("")
        try await ingest(dataset, workDir: workDir)
        try await search(dataset, workDir: workDir, cores: cores)
        try await reopen(dataset, workDir: workDir)
    }

    // MARK: Ingest

    private func ingest(_ dataset: ClusteredDataset, workDir: String) async throws {
        let vectors = dataset.points(count: ingestCount, stream: 0)
        let batches = Self.batches(vectors, dimension: dimension, batchSize: batchSize, firstID: 0)
        print("ingest: \(ingestCount) vectors × \(dimension), batches of \(batchSize)")
        for policy in ["always", "batch", "none"] {
            for writerCount in [1, writers] {
                let path = workDir + "/ingest-\(policy)-\(writerCount)"
                let db = try await Database.open(path: path, options: Self.options(SyncPolicy(parsing: policy)!))
                _ = try await db.createCollection(CollectionSchema(name: "bench", dimension: dimension, metric: .l2))
                let started = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<writerCount {
                        group.addTask {
                            for b in stride(from: w, to: batches.count, by: writerCount) {
                                _ = try await db.upsert("bench", batches[b])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let elapsed = (ContinuousClock.now - started).seconds
                let stats = db.statistics
                try await db.close()
                try? FileManager.default.removeItem(atPath: path)
                print(
                    "  sync=\(policy.padding(toLength: 6, withPad: " ", startingAt: 0)) writers=\(writerCount)  "
                        + "\(Self.format(Double(ingestCount) / elapsed)) vectors/s  "
                        + "(\(stats.commitGroups) commit groups, \(stats.walSyncs) fsyncs, \(String(format: "%.2f", elapsed)) s)")
            }
        }
        print("")
    }

    // MARK: Search

    private func search(_ dataset: ClusteredDataset, workDir: String, cores: Int) async throws {
        let vectors = dataset.points(count: searchCount, stream: 0)
        let queries = dataset.points(count: max(singleQueries, batchQueries * 100), stream: 1)
        let queryVectors = stride(from: 0, to: queries.count, by: dimension).map { Array(queries[$0..<($0 + dimension)]) }
        let path = workDir + "/search"
        let db = try await Database.open(path: path, options: Self.options(SyncPolicy.none))
        _ = try await db.createCollection(CollectionSchema(name: "bench", dimension: dimension, metric: .l2))
        for batch in Self.batches(vectors, dimension: dimension, batchSize: 10_000, firstID: 0) {
            _ = try await db.upsert("bench", batch)
        }
        let faiss = try FaissFlatIndex(dimension: dimension, innerProduct: false)
        try faiss.add(vectors)
        let swiftLoop = SwiftLoopScan(dimension: dimension, base: vectors)

        // Agreement of the top 10 between Quiver and FAISS (ties may order differently).
        let sample = Array(queryVectors.prefix(50))
        let quiverTop = try await db.search("bench", queries: sample, k: 10)
        var agree = 0
        for (i, query) in sample.enumerated() {
            let faissTop = try faiss.search(query, k: 10).labels
            agree += Set(quiverTop[i].map { Int64($0.id.rawValue) }).intersection(faissTop).count
        }
        print("exact search: \(searchCount) × \(dimension), l2; top-10 agreement with FAISS \(String(format: "%.4f", Double(agree) / Double(sample.count * 10)))")

        let quiverThreads = (openMP: 1, blas: 1)
        let faissSettings = [(openMP: cores, blas: cores), (openMP: cores, blas: 1), (openMP: 1, blas: 1)]

        for (label, perCall, calls) in [("single query", 1, singleQueries), ("batch of 100", 100, batchQueries)] {
            let work = (0..<calls).map { c in Array(queryVectors[(c * perCall) % queryVectors.count..<((c * perCall) % queryVectors.count + perCall)]) }
            var quiverQPS: [Double] = []
            var swiftLoopQPS: [Double] = []
            var faissQPS: [String: [Double]] = [:]
            for _ in 0..<repeats {
                let loopStarted = ContinuousClock.now
                for call in work { _ = swiftLoop.search(call.flatMap { $0 }, k: 10) }
                swiftLoopQPS.append(Double(calls * perCall) / (ContinuousClock.now - loopStarted).seconds)
                for setting in faissSettings {
                    ComputeThreads.configure(openMP: setting.openMP, blas: setting.blas)
                    let started = ContinuousClock.now
                    for call in work { _ = try faiss.search(call.flatMap { $0 }, k: 10) }
                    faissQPS["omp=\(setting.openMP) blas=\(setting.blas)", default: []].append(
                        Double(calls * perCall) / (ContinuousClock.now - started).seconds)
                }
                ComputeThreads.configure(openMP: quiverThreads.openMP, blas: quiverThreads.blas)
                let started = ContinuousClock.now
                for call in work { _ = try await db.search("bench", queries: call, k: 10) }
                quiverQPS.append(Double(calls * perCall) / (ContinuousClock.now - started).seconds)
            }
            let best = faissQPS.max { Percentile.median($0.value) < Percentile.median($1.value) }!
            let quiver = Percentile.median(quiverQPS)
            let faissBest = Percentile.median(best.value)
            print("  \(label), k=10:")
            for (setting, samples) in faissQPS.sorted(by: { $0.key < $1.key }) {
                print("    FAISS IndexFlat (\(setting))  median \(Self.format(Percentile.median(samples))) QPS")
            }
            print("    plain Swift loop (SIMD8, one thread)  median \(Self.format(Percentile.median(swiftLoopQPS))) QPS")
            print("    Quiver search (blas=1, \(cores) reader threads)  median \(Self.format(quiver)) QPS")
            print("    ratio Quiver / best FAISS = \(String(format: "%.2f", quiver / faissBest))  (target ≥ 0.90)")
        }
        try await db.close()
        try? FileManager.default.removeItem(atPath: path)
        print("")
    }

    // MARK: Reopen

    private func reopen(_ dataset: ClusteredDataset, workDir: String) async throws {
        let path = workDir + "/reopen"
        var db = try await Database.open(path: path, options: Self.options(SyncPolicy.none))
        _ = try await db.createCollection(CollectionSchema(name: "bench", dimension: dimension, metric: .l2))
        let chunk = 100_000
        var written = 0
        while written < reopenCount {
            let count = min(chunk, reopenCount - written)
            let vectors = dataset.points(count: count, stream: 100 + UInt64(written / chunk))
            for batch in Self.batches(vectors, dimension: dimension, batchSize: 10_000, firstID: UInt64(written)) {
                _ = try await db.upsert("bench", batch)
            }
            written += count
        }
        try await db.close()
        var times: [Double] = []
        for _ in 0..<3 {
            let started = ContinuousClock.now
            db = try await Database.open(path: path, options: Self.options(.always))
            times.append((ContinuousClock.now - started).seconds)
            let rows = try db.describeCollection("bench").rows
            precondition(rows == reopenCount, "reopened \(rows) rows, expected \(reopenCount)")
            try await db.close()
        }
        print("reopen: \(reopenCount) × \(dimension) → median \(String(format: "%.2f", Percentile.median(times))) s over 3 opens (target < 10 s)")
        try? FileManager.default.removeItem(atPath: path)
    }

    // MARK: Helpers

    static func batches(_ vectors: [Float], dimension: Int, batchSize: Int, firstID: UInt64) -> [[Record]] {
        let count = vectors.count / dimension
        return stride(from: 0, to: count, by: batchSize).map { start in
            (start..<min(start + batchSize, count)).map { i in
                Record(id: RecordID(firstID + UInt64(i)), vector: Array(vectors[(i * dimension)..<((i + 1) * dimension)]))
            }
        }
    }

    static func options(_ sync: SyncPolicy) -> DatabaseOptions {
        DatabaseOptions(syncPolicy: sync, logger: BenchCommon.quietLogger)
    }

    static func format(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value)) ?? String(Int(value))
    }

    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces)
        return cpu ?? "unknown CPU"
    }
}
