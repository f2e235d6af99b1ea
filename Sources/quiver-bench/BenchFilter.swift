import ArgumentParser
import Foundation
import QuiverCore
import QuiverEngine
import QuiverIndex
import QuiverTesting

/// `quiver-bench filter`: the filtered-search benchmark of docs/benchmarks.md.
///
/// N clustered vectors with fields drawn independently of the vectors (`bucket` uniform in
/// 0..<10,000 and values derived from it), ingested and indexed; then, for filters that pass
/// 50%, 10%, 1%, 0.1% and 0.01% of the rows (a bool, a number range, a tag, a string prefix, a
/// number equality — so every kind of scalar index is used), single-query searches with the
/// default settings: recall@10 against the exact filtered top 10, QPS, p50/p99 latency and the
/// strategies chosen, beside the unfiltered search, and beside raw FAISS IVF (same nlist, the
/// collection's default nprobe) with an IDSelectorBitmap of the same rows. Queries alternate
/// between Quiver and FAISS.
///
/// Exact ground truth without the system under test: FAISS's flat index returns the unfiltered
/// top k' (k' large enough that 10 passing rows are expected among them); a query whose top k'
/// holds fewer than 10 passing rows, and every query of the rare filters, is brute-forced in
/// plain Swift over the passing rows.
struct BenchFilter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Filtered search at five selectivities: recall, QPS and latency beside unfiltered and beside FAISS IVF with an IDSelectorBitmap."
    )

    @Option(help: "Vectors ingested.")
    var count = 1_000_000

    @Option(help: "Queries per filter.")
    var queries = 500

    @Option(help: "Clusters of the synthetic dataset.")
    var clusters = 1_000

    @Option(help: "Standard deviation of each coordinate around its cluster centre.")
    var spread: Float = 0.35

    @Flag(help: "Also time each indexed-segment strategy forced (exact-rows, IVF) at selectivities around the planner's switch point.")
    var calibrate = false

    @OptionGroup var common: BenchCommon

    struct Case {
        let share: String
        let expression: String
        let passes: @Sendable (Int) -> Bool
    }

    /// Filters over `bucket`-derived fields; `passes` is the plain-Swift predicate on the bucket.
    static let cases: [Case] = [
        Case(share: "50%", expression: "even == true", passes: { $0 % 2 == 0 }),
        Case(share: "10%", expression: "bucket < 1000", passes: { $0 < 1_000 }),
        Case(share: "1%", expression: "labels contains \"t7\"", passes: { $0 % 100 == 7 }),
        Case(share: "0.1%", expression: "name like \"n001%\"", passes: { $0 / 10 == 1 }),
        Case(share: "0.01%", expression: "bucket == 4242", passes: { $0 == 4_242 }),
    ]

    static func fields(bucket: Int) -> [String: FieldValue] {
        [
            "bucket": .int64(Int64(bucket)), "even": .bool(bucket % 2 == 0), "labels": .tags(["t\(bucket % 100)", "all"]),
            "name": .string(String(format: "n%04d", bucket)),
        ]
    }

    mutating func run() async throws {
        if common.quick {
            count = 20_000
            queries = 40
            clusters = 50
        }
        ComputeThreads.configure(openMP: 1, blas: 1)
        let dimension = common.dimension
        let workDir = common.workDirectory("filter")
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let dataset = ClusteredDataset(dimension: dimension, clusters: clusters, spread: spread, seed: common.seed)
        print("quiver-bench filter — \(BenchEngine.machine()), \(ProcessInfo.processInfo.activeProcessorCount) cores, kernel \(ComputeThreads.kernelName)")
        print("dataset: clustered, \(count) × \(dimension), \(clusters) clusters, spread \(spread), seed \(common.seed); \(queries) queries per filter, k = 10")
        let vectors = dataset.points(count: count, stream: 0)
        let queryVectors = dataset.points(count: queries, stream: 1)
        let querySet = stride(from: 0, to: queryVectors.count, by: dimension).map { Array(queryVectors[$0..<($0 + dimension)]) }
        var rng = SeededRandom(seed: common.seed &+ 7)
        let buckets = (0..<count).map { _ in Int.random(in: 0..<10_000, using: &rng) }

        // Ingest with fields, index everything.
        let database = try await Database.open(path: workDir, options: BenchEngine.options(.always))
        _ = try await database.createCollection(
            CollectionSchema(
                name: "bench", dimension: dimension, metric: .l2,
                fields: [
                    FieldSchema(name: "bucket", type: .int64), FieldSchema(name: "even", type: .bool),
                    FieldSchema(name: "labels", type: .tags), FieldSchema(name: "name", type: .string),
                ]))
        let started = ContinuousClock.now
        let count = self.count
        try await withThrowingTaskGroup(of: Void.self) { group in
            let writers = 4
            for w in 0..<writers {
                group.addTask {
                    for first in stride(from: w * 1_000, to: count, by: writers * 1_000) {
                        let records = (first..<min(count, first + 1_000)).map { i in
                            Record(
                                id: RecordID(UInt64(i)), vector: Array(vectors[(i * dimension)..<((i + 1) * dimension)]),
                                fields: Self.fields(bucket: buckets[i]))
                        }
                        _ = try await database.upsert("bench", records)
                    }
                }
            }
            try await group.waitForAll()
        }
        let ingestSeconds = (ContinuousClock.now - started).seconds
        try await database.seal("bench")
        try await database.waitForBackgroundWork()
        let info = try database.describeCollection("bench")
        let nlist = try require(info.nlist, "no segment was indexed")
        let nprobe = IndexSettings.nprobeDefault(nlist: nlist)
        print(
            "ingest with 4 fields: \(BenchEngine.format(Double(count) / ingestSeconds)) vectors/s; all indexed after \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s; \(info.segments.count) segments, nlist \(nlist), default nprobe \(nprobe)"
        )

        // Raw FAISS IVF, same nlist.
        let sample = min(count, nlist * 100)
        let step = max(1, count / sample)
        var training: [Float] = []
        for row in stride(from: 0, to: count, by: step) where training.count < sample * dimension {
            training += vectors[(row * dimension)..<((row + 1) * dimension)]
        }
        let faiss = try IVFIndex.train(
            innerProduct: false, dimension: dimension, nlist: nlist, codes: .flat, spherical: false, vectors: training, iterations: 20, seed: 1)
        try vectors.withUnsafeBufferPointer { try faiss.add($0, ids: (0..<Int64(count)).map { $0 }) }
        let flat = try FaissFlatIndex(dimension: dimension, innerProduct: false)
        try flat.add(vectors)

        func distance(_ query: [Float], _ row: Int) -> Float {
            var sum: Float = 0
            for j in 0..<dimension {
                let d = query[j] - vectors[row * dimension + j]
                sum += d * d
            }
            return sum
        }

        /// Exact filtered top 10 per query.
        func truth(_ passes: (Int) -> Bool, share: Double) throws -> [Set<Int64>] {
            let passing = (0..<count).filter { passes(buckets[$0]) }
            let wide = share >= 0.05 ? min(count, Int(40 / share)) : 0
            let candidates = wide > 0 ? try flat.search(queryVectors, k: wide).labels : []
            return querySet.enumerated().map { q, query in
                if wide > 0 {
                    let found = candidates[(q * wide)..<((q + 1) * wide)].filter { $0 >= 0 && passes(buckets[Int($0)]) }
                    if found.count >= 10 { return Set(found.prefix(10)) }
                }
                var ranked: [(distance: Float, row: Int)] = passing.map { (distance(query, $0), $0) }
                ranked.sort { a, b in a.distance < b.distance || (a.distance == b.distance && a.row < b.row) }
                return Set(ranked.prefix(10).map { Int64($0.row) })
            }
        }

        struct Figures {
            var recall: Double
            var latencies: [Double]
            var qps: Double { 1 / Percentile.median(latencies) }
            var p50: Double { Percentile.of(latencies, 50) * 1000 }
            var p99: Double { Percentile.of(latencies, 99) * 1000 }
        }
        func recall(_ results: [[Int64]], _ truth: [Set<Int64>]) -> Double {
            var found = 0
            var wanted = 0
            for (q, hits) in results.enumerated() {
                found += Set(hits.filter { $0 >= 0 }).intersection(truth[q]).count
                wanted += truth[q].count
            }
            return wanted == 0 ? 1 : Double(found) / Double(wanted)
        }

        /// Quiver with the filter (or none) and FAISS with the same rows selected, alternating.
        func measure(_ expression: String?, selected: [UInt64], truth: [Set<Int64>]) async throws -> (Figures, Figures, [String: Int]) {
            var quiverHits: [[Int64]] = []
            var faissHits: [[Int64]] = []
            var quiverLatencies: [Double] = []
            var faissLatencies: [Double] = []
            var strategies: [String: Int] = [:]
            for (q, query) in querySet.enumerated() {
                for path in q % 2 == 0 ? [0, 1] : [1, 0] {
                    let t = ContinuousClock.now
                    if path == 0 {
                        let (hits, plan) = try await database.explainedSearch(
                            "bench", queries: [query], k: 10, options: SearchOptions(filter: expression))
                        quiverLatencies.append((ContinuousClock.now - t).seconds)
                        quiverHits.append(hits[0].map { Int64($0.id.rawValue) })
                        for segment in plan.segments {
                            let key = segment.strategy == .ivf ? "ivf(nprobe \(segment.nprobe ?? 0))" : segment.strategy.rawValue
                            strategies[key, default: 0] += 1
                        }
                        if plan.exactRetries > 0 { strategies["exact retries", default: 0] += plan.exactRetries }
                    } else {
                        let hits = try faiss.searchFAISS(query, k: 10, nprobe: nprobe, selected: selected).labels
                        faissLatencies.append((ContinuousClock.now - t).seconds)
                        faissHits.append(hits)
                    }
                }
            }
            return (
                Figures(recall: recall(quiverHits, truth), latencies: quiverLatencies),
                Figures(recall: recall(faissHits, truth), latencies: faissLatencies), strategies
            )
        }

        func row(_ label: String, _ quiver: Figures, _ faiss: Figures, _ strategies: [String: Int]) -> String {
            let perQuery = strategies.sorted { $0.key < $1.key }.map {
                "\($0.key) \(String(format: "%.1f", Double($0.value) / Double(querySet.count)))"
            }.joined(separator: ", ")
            return "  \(label.padding(toLength: 7, withPad: " ", startingAt: 0)) "
                + "\(String(format: "%.4f", quiver.recall)) / \(String(format: "%.4f", faiss.recall))   "
                + "\(BenchEngine.format(quiver.qps).padding(toLength: 7, withPad: " ", startingAt: 0)) / \(BenchEngine.format(faiss.qps).padding(toLength: 7, withPad: " ", startingAt: 0))  "
                + "\(String(format: "%.3f", quiver.p50)) / \(String(format: "%.3f", faiss.p50))   "
                + "\(String(format: "%.3f", quiver.p99)) / \(String(format: "%.3f", faiss.p99))   "
                + "segments per query: \(perQuery)"
        }

        print("")
        print("single queries, k = 10, default settings (Quiver) / FAISS IVF + IDSelectorBitmap at nprobe \(nprobe); medians of alternating runs:")
        print("  pass    recall@10 Q / F     QPS Q / F          p50 ms Q / F    p99 ms Q / F")
        let all = [UInt64](repeating: ~0, count: (count + 63) / 64)
        let unfilteredTruth = try truth({ _ in true }, share: 1)
        let (base, baseFAISS, baseStrategies) = try await measure(nil, selected: all, truth: unfilteredTruth)
        print(row("all", base, baseFAISS, baseStrategies))
        var worst: (recall: Double, p99Ratio: Double) = (1, 0)
        for test in Self.cases {
            var selected = [UInt64](repeating: 0, count: (count + 63) / 64)
            var passing = 0
            for i in 0..<count where test.passes(buckets[i]) {
                selected[i >> 6] |= 1 << UInt64(i & 63)
                passing += 1
            }
            let share = Double(passing) / Double(count)
            let expected = try truth(test.passes, share: share)
            let (quiver, faissFigures, strategies) = try await measure(test.expression, selected: selected, truth: expected)
            print(row(test.share, quiver, faissFigures, strategies) + "   [\(test.expression): \(passing) rows]")
            worst = (min(worst.recall, quiver.recall), max(worst.p99Ratio, quiver.p99 / base.p99))
        }
        print("")
        print(
            "lowest recall@10 \(String(format: "%.4f", worst.recall)) (target ≥ 0.95); highest p99 / unfiltered p99 \(String(format: "%.2f", worst.p99Ratio)) (target ≤ 1.5)"
        )

        // Filter-only work: count by filter, i.e. evaluation over every segment.
        var countLatencies: [Double] = []
        for test in Self.cases {
            for _ in 0..<20 {
                let t = ContinuousClock.now
                _ = try await database.count("bench", filter: test.expression)
                countLatencies.append((ContinuousClock.now - t).seconds)
            }
        }
        print("count by filter over \(count) rows: median \(String(format: "%.3f", Percentile.median(countLatencies) * 1000)) ms (all five filters)")
        try await database.close()

        // Restart with fields: every segment's columns and indexes are rebuilt from storage.
        let report = try BenchCommon.runBench(["open", workDir])
        print(report.trimmingCharacters(in: .whitespacesAndNewlines))
        print("  (raw vectors \((count * dimension * 4) >> 20) MiB; the fields add columns and indexes rebuilt on open)")

        guard calibrate else { return }
        // Each strategy forced, at selectivities around the switch: the planner's choice should
        // follow the faster one.
        print("")
        print("calibration: indexed segments forced to one strategy (single queries, medians; default nprobe \(nprobe)):")
        print("  pass    exact-rows p50 ms (recall)   ivf p50 ms (recall, nprobe)   planner's choice")
        let shares = [10, 30, 100, 300, 1_000]
        var figures: [Int: [String: (p50: Double, recall: Double, nprobe: Int?)]] = [:]
        var truths: [Int: [Set<Int64>]] = [:]
        for bound in shares { truths[bound] = Array(try truth({ $0 < bound }, share: Double(bound) / 10_000).prefix(200)) }
        for (label, settings) in [("exact-rows", PlannerSettings(gatherCost: 0)), ("ivf", PlannerSettings(gatherCost: .infinity)), ("planner", PlannerSettings())] {
            var options = BenchEngine.options(.always)
            options.planner = settings
            let reopened = try await Database.open(path: workDir, options: options)
            for bound in shares {
                var latencies: [Double] = []
                var hits: [[Int64]] = []
                var nprobeUsed: Int?
                var strategy = ""
                for query in querySet.prefix(200) {
                    let t = ContinuousClock.now
                    let (result, plan) = try await reopened.explainedSearch(
                        "bench", queries: [query], k: 10, options: SearchOptions(filter: "bucket < \(bound)"))
                    latencies.append((ContinuousClock.now - t).seconds)
                    hits.append(result[0].map { Int64($0.id.rawValue) })
                    nprobeUsed = plan.segments.compactMap(\.nprobe).max()
                    strategy = Set(plan.segments.map(\.strategy.rawValue)).sorted().joined(separator: "+")
                }
                let measured = (Percentile.median(latencies) * 1000, recall(hits, truths[bound]!), nprobeUsed)
                figures[bound, default: [:]][label] = measured
                if label == "planner" { figures[bound, default: [:]]["choice:" + strategy] = measured }
            }
            try await reopened.close()
        }
        for bound in shares {
            let row = figures[bound]!
            let exactRows = row["exact-rows"]!
            let ivf = row["ivf"]!
            let choice = row.keys.first { $0.hasPrefix("choice:") }.map { String($0.dropFirst(7)) } ?? "?"
            print(
                "  \(String(format: "%.1f%%", Double(bound) / 100).padding(toLength: 7, withPad: " ", startingAt: 0)) "
                    + "\(String(format: "%.3f", exactRows.p50)) (\(String(format: "%.3f", exactRows.recall)))              "
                    + "\(String(format: "%.3f", ivf.p50)) (\(String(format: "%.3f", ivf.recall)), \(ivf.nprobe ?? 0))          "
                    + "\(choice), \(String(format: "%.3f", row["planner"]!.p50)) ms")
        }
    }
}
