import ArgumentParser
import Foundation
import QuiverCore
import QuiverEngine
import QuiverIndex
import QuiverServer
import QuiverTesting

/// `quiver-bench ivf`: the IVF segments benchmark of docs/benchmarks.md.
///
/// 1. Ingest N × d through `Database.upsert` (batches of 1,000, several writers) while sealed
///    segments are indexed in the background; then seal the rest and time until the last segment
///    is indexed.
/// 2. Raw FAISS IVF in the same process on the same vectors, with the collection's nlist and the
///    same number of training points.
/// 3. An nprobe sweep: recall@10 against exact ground truth and single-query QPS and p50/p99
///    latency, Quiver (`Database.search`) beside FAISS (`IndexIVF.search`), runs alternating.
/// 4. Restart-to-ready and resident memory, measured in a fresh process (`quiver-bench open`) so
///    that this process's copies of the data do not count.
struct BenchIVF: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ivf",
        abstract: "IVF segments: ingest during builds, nprobe sweep beside raw FAISS IVF, restart time and memory."
    )

    @Option(help: "Vectors ingested.")
    var count = 1_000_000

    @Option(help: "Concurrent writers during ingest.")
    var writers = 4

    @Option(help: "Queries for recall and latency.")
    var queries = 1_000

    @Option(help: "nprobe values to sweep, comma-separated (values above nlist probe every list).")
    var nprobes = "1,2,4,8,16,32,64,128"

    @Option(help: "Clusters of the synthetic dataset.")
    var clusters = 1_000

    @Option(
        help: ArgumentHelp(
            "Standard deviation of each coordinate around its cluster centre (centres are uniform in [-1, 1]).",
            discussion: "At 0.35 the clusters barely overlap and nprobe 1 already finds most neighbours; at 1.0 they overlap and recall needs more probes, as on real embeddings."))
    var spread: Float = 0.35

    @Option(help: "IVF codes of the collection and of the raw FAISS index beside it: flat, sq8 or pqM.")
    var codes = "flat"

    @OptionGroup var common: BenchCommon

    mutating func run() async throws {
        if common.quick {
            count = 20_000
            queries = 50
            nprobes = "1,8,65536"
            clusters = 50
        }
        guard let codes = IVFCodes(parsing: self.codes) else { throw ValidationError("--codes must be flat, sq8 or pqM, got \(self.codes)") }
        ComputeThreads.configure(openMP: 1, blas: 1)
        let dimension = common.dimension
        let workDir = common.workDirectory("ivf")
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        guard spread > 0, spread.isFinite else { throw ValidationError("--spread must be a positive number") }
        let dataset = ClusteredDataset(dimension: dimension, clusters: clusters, spread: spread, seed: common.seed)
        print("quiver-bench ivf — \(BenchEngine.machine()), \(ProcessInfo.processInfo.activeProcessorCount) cores, kernel \(ComputeThreads.kernelName)")
        print("dataset: clustered, \(count) × \(dimension), \(clusters) clusters, spread \(spread), seed \(common.seed); \(queries) queries, k = 10; codes \(codes)")
        print("")

        let vectors = dataset.points(count: count, stream: 0)
        let queryVectors = dataset.points(count: queries, stream: 1)
        let querySet = stride(from: 0, to: queryVectors.count, by: dimension).map { Array(queryVectors[$0..<($0 + dimension)]) }

        // 1. Ingest while segments are indexed.
        let database = try await Database.open(path: workDir, options: BenchEngine.options(.always))
        _ = try await database.createCollection(CollectionSchema(name: "bench", dimension: dimension, metric: .l2, index: IndexSettings(codes: codes)))
        let batches = BenchEngine.batches(vectors, dimension: dimension, batchSize: 1_000, firstID: 0)
        let before = database.statistics
        let ingestStarted = ContinuousClock.now
        let writers = self.writers
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for b in stride(from: w, to: batches.count, by: writers) { _ = try await database.upsert("bench", batches[b]) }
                }
            }
            try await group.waitForAll()
        }
        let ingestSeconds = (ContinuousClock.now - ingestStarted).seconds
        let during = database.statistics
        let busy = Double(during.maintenanceMicroseconds - before.maintenanceMicroseconds) / 1e6 / ingestSeconds
        try await database.seal("bench")
        try await database.waitForBackgroundWork()
        let indexedSeconds = (ContinuousClock.now - ingestStarted).seconds
        let info = try database.describeCollection("bench")
        let nlist = try require(info.nlist, "no segment was indexed")
        let stats = database.statistics
        print("ingest: \(count) vectors, \(writers) writers, batches of 1,000, sync=always")
        print("  \(BenchEngine.format(Double(count) / ingestSeconds)) vectors/s while indexing (\(String(format: "%.1f", ingestSeconds)) s)  (target ≥ 50,000)")
        print("  meanwhile the index worker was busy \(String(format: "%.0f", busy * 100))% of the time: \(during.seals) seals, \(during.templateTrainings) training(s) and \(during.indexBuilds) builds finished")
        print("  last segment indexed \(String(format: "%.1f", indexedSeconds - ingestSeconds)) s after the last write (\(String(format: "%.1f", indexedSeconds)) s from the start)")
        print("  \(info.segments.count) segments, nlist \(nlist), \(stats.templateTrainings) template training(s), \(stats.indexBuilds) builds")
        print("")

        // 2. Raw FAISS IVF with the same nlist and the same number of training points.
        let sample = min(count, nlist * 100)
        let step = max(1, count / sample)
        var training: [Float] = []
        training.reserveCapacity(sample * dimension)
        var row = 0
        while row < count, training.count < sample * dimension {
            training += vectors[(row * dimension)..<((row + 1) * dimension)]
            row += step
        }
        let faissStarted = ContinuousClock.now
        let faiss = try IVFIndex.train(
            innerProduct: false, dimension: dimension, nlist: nlist, codes: codes, spherical: false, vectors: training, iterations: 20, seed: 1)
        let trainSeconds = (ContinuousClock.now - faissStarted).seconds
        try vectors.withUnsafeBufferPointer { try faiss.add($0, ids: (0..<Int64(count)).map { $0 }) }
        let addSeconds = (ContinuousClock.now - faissStarted).seconds - trainSeconds
        print("raw FAISS IVF (\(codes) codes): nlist \(nlist), trained on \(sample) points in \(String(format: "%.1f", trainSeconds)) s, \(count) vectors added in \(String(format: "%.1f", addSeconds)) s")

        // What sharing one quantizer per collection saves, from the same template: a quantizer per
        // segment would need a training and a coarse assignment per segment.
        var assignLatencies: [Double] = []
        for query in querySet.prefix(200) {
            let t = ContinuousClock.now
            _ = try faiss.assign(queries: query, nprobe: 8)
            assignLatencies.append((ContinuousClock.now - t).seconds)
        }
        let assignMicroseconds = Percentile.median(assignLatencies) * 1e6
        let segments = info.segments.count
        print(
            "shared quantizer: 1 training (\(String(format: "%.1f", trainSeconds)) s) and 1 coarse assignment per query (\(String(format: "%.0f", assignMicroseconds)) µs median); "
                + "a quantizer per segment would need \(segments) trainings (\(String(format: "%.0f", trainSeconds * Double(segments))) s) and \(segments) assignments per query (\(String(format: "%.0f", assignMicroseconds * Double(segments))) µs)")

        // Exact ground truth.
        let exact = try FaissFlatIndex(dimension: dimension, innerProduct: false)
        try exact.add(vectors)
        let truth = try exact.search(queryVectors, k: 10).labels
        print("")

        // 3. The sweep.
        print("nprobe sweep, single queries, k = 10 (medians of alternating runs):")
        print("  nprobe  recall@10 Quiver / FAISS   QPS Quiver / FAISS  (ratio)   p50 ms Quiver / FAISS   p99 ms Quiver / FAISS   lists probed per segment")
        var chosen: (nprobe: Int, ratio: Double)?
        var swept: [Int] = []
        for value in nprobes.split(separator: ",").compactMap({ Int($0) }) where !swept.contains(min(value, nlist)) {
            swept.append(min(value, nlist))
        }
        for nprobe in swept {
            var quiverHits: [[Int64]] = []
            var faissHits: [[Int64]] = []
            var quiverLatencies: [Double] = []
            var faissLatencies: [Double] = []
            for (q, query) in querySet.enumerated() {
                for path in q % 2 == 0 ? [0, 1] : [1, 0] {
                    let t = ContinuousClock.now
                    if path == 0 {
                        let hits = try await database.search("bench", queries: [query], k: 10, options: SearchOptions(nprobe: nprobe))
                        quiverLatencies.append((ContinuousClock.now - t).seconds)
                        quiverHits.append(hits[0].map { Int64($0.id.rawValue) })
                    } else {
                        let hits = try faiss.searchFAISS(query, k: 10, nprobe: nprobe).labels
                        faissLatencies.append((ContinuousClock.now - t).seconds)
                        faissHits.append(hits)
                    }
                }
            }
            func recall(_ results: [[Int64]]) -> Double {
                var found = 0
                for (q, hits) in results.enumerated() {
                    found += Set(hits).intersection(truth[(q * 10)..<((q + 1) * 10)]).count
                }
                return Double(found) / Double(results.count * 10)
            }
            let quiverRecall = recall(quiverHits)
            let faissRecall = recall(faissHits)
            let quiverQPS = 1 / Percentile.median(quiverLatencies)
            let faissQPS = 1 / Percentile.median(faissLatencies)
            let ratio = quiverQPS / faissQPS
            // The lists the planner probed per segment for this nprobe (k-aware probing may raise it).
            let plan = try await database.explainedSearch("bench", queries: [querySet[0]], k: 10, options: SearchOptions(nprobe: nprobe)).plan
            let probed = plan.segments.compactMap(\.nprobe).map(String.init).joined(separator: ",")
            print(
                "  \(String(nprobe).padding(toLength: 6, withPad: " ", startingAt: 0))  "
                    + "\(String(format: "%.4f", quiverRecall)) / \(String(format: "%.4f", faissRecall))        "
                    + "\(BenchEngine.format(quiverQPS).padding(toLength: 7, withPad: " ", startingAt: 0)) / \(BenchEngine.format(faissQPS).padding(toLength: 7, withPad: " ", startingAt: 0)) (\(String(format: "%.2f", ratio)))     "
                    + "\(String(format: "%.3f", Percentile.of(quiverLatencies, 50) * 1000)) / \(String(format: "%.3f", Percentile.of(faissLatencies, 50) * 1000))          "
                    + "\(String(format: "%.3f", Percentile.of(quiverLatencies, 99) * 1000)) / \(String(format: "%.3f", Percentile.of(faissLatencies, 99) * 1000))          "
                    + probed)
            if chosen == nil, quiverRecall >= 0.95 { chosen = (nprobe, ratio) }
        }
        if let chosen {
            print("  at nprobe \(chosen.nprobe), the first with recall@10 ≥ 0.95: Quiver / FAISS single-query QPS = \(String(format: "%.2f", chosen.ratio))  (target ≥ 0.80)")
        } else {
            print("  no nprobe in the sweep reached recall@10 ≥ 0.95")
        }
        print("")
        try await database.close()

        // 4. Restart-to-ready and memory in a fresh process.
        let rawBytes = count * dimension * MemoryLayout<Float>.stride
        let report = try BenchCommon.runBench(["open", workDir])
        print(report.trimmingCharacters(in: .whitespacesAndNewlines))
        if let rss = report.split(separator: "\n").first(where: { $0.contains("resident") }).flatMap({ line in
            line.split(separator: " ").first { $0.hasSuffix("MiB") }.flatMap { Double($0.dropLast(3)) }
        }) {
            print("  resident / raw vector bytes (\(rawBytes >> 20) MiB) = \(String(format: "%.2f", rss * 1_048_576 / Double(rawBytes)))  (target < 1.5 with flat codes)")
        }
    }
}

/// `quiver-bench open DIR`: opens a database in a fresh process and reports the time until it is
/// ready (every segment loaded, nothing pending) and the process's resident memory.
struct BenchOpen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open a database, report time to ready and resident memory.")

    @Argument(help: "The database directory.")
    var directory: String

    func run() async throws {
        ComputeThreads.configure(openMP: 1, blas: 1)
        let started = ContinuousClock.now
        let database = try await Database.open(path: directory, options: BenchEngine.options(.always))
        try await database.waitForBackgroundWork()
        let ready = (ContinuousClock.now - started).seconds
        let rows = try database.listCollections().reduce(0) { $0 + $1.rows }
        let statistics = database.statistics
        print("restart: \(rows) rows ready in \(String(format: "%.2f", ready)) s (\(statistics.indexBuilds) builds, \(statistics.templateTrainings) trainings on open)  (target < 10 s)")
        print("  resident memory after open: \(String(format: "%.0f", Double(ProcessMemory.residentBytes()) / 1_048_576))MiB")
        try await database.close()
    }
}

/// Fails a benchmark with a message instead of a trap.
func require<T>(_ value: T?, _ message: String) throws -> T {
    guard let value else { throw BenchError(message) }
    return value
}
