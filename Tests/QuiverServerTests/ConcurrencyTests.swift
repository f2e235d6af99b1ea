import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import Testing

/// Many clients at once against one server process: every answer checked against the oracle,
/// and a slow exact search that holds no one else up.
@Suite struct ConcurrencyTests {
    static let dimension = 128

    static func vectors(_ count: Int, _ rng: inout SeededRandom) -> [[Float]] {
        (0..<count).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) } }
    }

    static func load(_ client: QuiverClient, _ name: String, _ rows: [[Float]], into oracle: inout BruteForceOracle) async throws {
        _ = try await client.createCollection(CollectionSchema(name: name, dimension: dimension, metric: .l2))
        for start in stride(from: 0, to: rows.count, by: 5_000) {
            let records = (start..<min(rows.count, start + 5_000)).map { Record(id: RecordID(UInt64($0)), vector: rows[$0]) }
            _ = try await client.upsert(name, records)
        }
        for (i, row) in rows.enumerated() { oracle.upsert(RecordID(UInt64(i)), row) }
    }

    /// 64 clients, each on its own connection, search (against the oracle), upsert and read back
    /// while one exact search of 1,000 queries over 40,000 × 128 runs. Every client's calls must
    /// end before that search does: the searches are big enough to need the engine's reader
    /// threads, which the slow search also uses, and a slow search that held those threads for
    /// its whole length made every other search wait for it.
    @Test func sixtyFourClientsFinishBesideASlowExactSearch() async throws {
        let server = try await TestServer()
        var rng = SeededRandom(seed: 64)
        var shared = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        var big = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        // 10,000 × 128 is above the engine's limit for scanning on the calling task, so these
        // searches go to the reader threads.
        let sharedRows = Self.vectors(10_000, &rng)
        let bigRows = Self.vectors(40_000, &rng)
        let slowQueries = Self.vectors(1_000, &rng)
        let fastQueries = Self.vectors(128, &rng)
        try await server.withClient { client async throws in
            try await Self.load(client, "shared", sharedRows, into: &shared)
            try await Self.load(client, "big", bigRows, into: &big)
            _ = try await client.createCollection(CollectionSchema(name: "writes", dimension: 4, metric: .l2))
        }
        let bigOracle = big
        // Computed before the clients start: the oracle's sort of 10,000 rows per query, in a
        // debug build, would otherwise be the test's own bottleneck.
        let expected = fastQueries.map { Array(shared.ranking($0).prefix(5).map(\.id)) }

        let slowStarted = ContinuousClock.now
        let slow = Task { () async throws -> ([[SearchHit]], ContinuousClock.Instant) in
            let hits = try await server.withClient { client async throws in
                try await client.search("big", queries: slowQueries, k: 10, options: SearchOptions(recallTarget: 1.0))
            }
            return (hits, ContinuousClock.now)
        }
        let finishedFast = try await withThrowingTaskGroup(of: ContinuousClock.Instant.self) { group in
            for c in 0..<64 {
                group.addTask {
                    try await server.withClient { client async throws in
                        for q in [2 * c, 2 * c + 1] {
                            let hits = try await client.search("shared", queries: [fastQueries[q]], k: 5)
                            #expect(hits[0].map(\.id) == expected[q], "client \(c), query \(q)")
                        }
                        let vector: [Float] = [Float(c), 1, 2, 3]
                        let written = try await client.upsert("writes", [Record(id: RecordID(UInt64(c)), vector: vector)])
                        #expect(written.inserted == 1)
                        #expect(try await client.get("writes", ids: [RecordID(UInt64(c))], includeVectors: true)[0]?.vector == vector)
                    }
                    return ContinuousClock.now
                }
            }
            var finished: [ContinuousClock.Instant] = []
            for try await instant in group { finished.append(instant) }
            return finished
        }
        let (slowHits, slowEnded) = try await slow.value
        let lastFast = try #require(finishedFast.max())
        #expect(finishedFast.count == 64)
        #expect(
            lastFast < slowEnded,
            "the slow search took \(slowEnded - slowStarted); the clients finished at \(finishedFast.sorted().map { $0 - slowStarted })")
        #expect(slowHits.count == slowQueries.count)
        for q in [0, 499, 999] {
            #expect(slowHits[q].map(\.id) == Array(bigOracle.ranking(slowQueries[q]).prefix(10).map(\.id)), "slow query \(q)")
        }
        #expect(try await server.withClient { client async throws in try await client.count("writes") } == 64)
        try await server.stop()
    }
}
