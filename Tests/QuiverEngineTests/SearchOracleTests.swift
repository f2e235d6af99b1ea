import Foundation
import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

/// Property test: random collections (each metric, random dimension), random upserts and deletes,
/// and every search compared with the brute-force oracle.
@Suite struct SearchOracleTests {
    static let seeds: [UInt64] = {
        if let s = ProcessInfo.processInfo.environment["QUIVER_TEST_SEED"], let seed = UInt64(s) { return [seed] }
        return Array(1...6)
    }()

    @Test(arguments: Metric.allCases, seeds)
    func searchMatchesBruteForce(metric: Metric, seed: UInt64) async throws {
        var rng = SeededRandom(seed: seed &* 1_000_003 &+ UInt64(Metric.allCases.firstIndex(of: metric)!))
        let dimension = Int.random(in: 1...70, using: &rng)
        // l2 and ip run on integer data for exact comparison; cosine (normalized, irrational) and
        // every third seed of the others on floats.
        let integer = metric != .cosine && seed % 3 != 0
        let context = "metric=\(metric) seed=\(seed) d=\(dimension) integer=\(integer) (replay: QUIVER_TEST_SEED=\(seed))"
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(CollectionSchema(name: "p", dimension: dimension, metric: metric))
            var oracle = BruteForceOracle(metric: metric, dimension: dimension)
            let idSpace: UInt64 = 600
            for step in 0..<14 {
                if step % 4 == 3 {
                    let ids = (0..<Int.random(in: 1...80, using: &rng)).map { _ in RecordID(UInt64.random(in: 0..<idSpace, using: &rng)) }
                    let deleted = try await db.delete("p", ids: ids)
                    let live = Set(ids).filter { oracle.vectors[$0] != nil }.count
                    #expect(deleted == live, "\(context)")
                    ids.forEach { oracle.delete($0) }
                } else {
                    var ids = Set<UInt64>()
                    let size = Int.random(in: 1...250, using: &rng)
                    while ids.count < size { ids.insert(UInt64.random(in: 0..<idSpace, using: &rng)) }
                    let records = ids.map { Record(id: RecordID($0), vector: randomVector(dimension, integer: integer, using: &rng)) }
                    // Duplicate vectors under different ids make ties.
                    let withTies = records.enumerated().map { i, r in
                        i % 7 == 1 ? Record(id: r.id, vector: records[i - 1].vector) : r
                    }
                    _ = try await db.upsert("p", withTies)
                    withTies.forEach { oracle.upsert($0.id, $0.vector) }
                }
                #expect(try db.describeCollection("p").rows == oracle.count, "\(context)")
                // Single queries take the per-query kernels, 25 and 60 the sgemm path (60 is split
                // across reader threads); k beyond the row count returns every row.
                for (nq, k) in [(1, 1), (3, 10), (25, 7), (60, 40), (2, 2_000)] {
                    let queries = (0..<nq).map { _ in randomVector(dimension, integer: integer, using: &rng) }
                    try await checkSearch(
                        db, "p", oracle: oracle, queries: queries, k: k, exact: integer, context: "\(context) step=\(step) nq=\(nq) k=\(k)")
                }
            }
            // Every stored vector comes back bit for bit (the oracle normalizes independently for
            // cosine, so compare within rounding there).
            let ids = oracle.vectors.keys.sorted()
            let stored = try await db.get("p", ids: ids)
            for (id, record) in zip(ids, stored) {
                let got = try #require(record?.vector, "\(context) id \(id)")
                let want = oracle.vectors[id]!
                if metric == .cosine {
                    #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(context) id \(id)")
                } else {
                    #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(context) id \(id)")
                }
            }
        }
    }

    @Test func searchReturnsRequestedFieldsAndVectors() async throws {
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            let schema = CollectionSchema(
                name: "f", dimension: 2, metric: .l2,
                fields: [FieldSchema(name: "name", type: .string), FieldSchema(name: "rank", type: .int64)])
            _ = try await db.createCollection(schema)
            _ = try await db.upsert("f", [
                Record(id: 1, vector: [0, 0], fields: ["name": .string("origin"), "rank": .int64(1)]),
                Record(id: 2, vector: [1, 0], fields: ["name": .string("east")]),
                Record(id: 3, vector: [5, 5], fields: ["rank": .int64(3)]),
            ])
            let hits = try await db.search(
                "f", queries: [[0.9, 0]], k: 2, options: SearchOptions(includeVectors: true, fields: .only(["name"])))
            #expect(hits[0].map(\.id) == [2, 1])
            #expect(hits[0][0].vector == [1, 0] && hits[0][1].vector == [0, 0])
            #expect(hits[0][0].fields == ["name": .string("east")])
            #expect(hits[0][1].fields == ["name": .string("origin")])
            let all = try await db.search("f", queries: [[5, 5]], k: 1, options: SearchOptions(fields: .all))
            #expect(all[0][0].fields == ["name": .null, "rank": .int64(3)])
            #expect(all[0][0].vector == nil)
            let bare = try await db.search("f", queries: [[5, 5]], k: 1)
            #expect(bare[0][0].fields == nil && bare[0][0].score == 0)
        }
    }
}
