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

    /// Raw little-endian float32, row after row, for the probe.
    static func write(_ rows: [[Float]], to path: String) throws {
        var bytes: [UInt8] = []
        for value in rows.joined() { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// 64 clients, each on its own connection, search (against the oracle), upsert and read back
    /// while one exact search of 1,000 queries over 40,000 × 128 runs. Every client's calls must
    /// end before that search does: the searches are big enough to need the engine's reader
    /// threads, which the slow search also uses, and a slow search that held those threads for
    /// its whole length made every other search wait for it (all 64 clients finished within
    /// 0.2 s after it, at 6.5 s). The clients and the slow search run in a Python grpcio process
    /// of their own (Tests/interop/quiver_probe.py mixed-load), so that the times are not those
    /// of this test process, whose threads the suite's other tests share.
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
        let files = TemporaryDirectory()
        try Self.write(fastQueries, to: files.path + "/fast.f32")
        try Self.write(slowQueries, to: files.path + "/slow.f32")

        let result = try await HostileClientTests.probe(
            server,
            [
                "mixed-load", "--clients", "64", "--dimension", String(Self.dimension), "--queries", files.path + "/fast.f32",
                "--slow-queries", files.path + "/slow.f32",
            ])
        #expect((result["errors"] as? [String])?.isEmpty == true, "\(result["errors"] ?? "no errors field")")
        #expect(result["mismatched_reads"] as? Int == 0)
        let slowEnd = try #require(result["slow_end"] as? Double)
        let fastEnds = try #require(result["fast_ends"] as? [Double])
        #expect(fastEnds.count == 64)
        #expect(
            fastEnds.allSatisfy { $0 < slowEnd },
            "the clients finished at \(fastEnds.sorted().map { $0 - slowEnd }) s from the slow search's end")
        let fastIDs = try #require(result["fast_ids"] as? [String: [Int]])
        #expect(fastIDs.count == 128)
        for (q, ids) in fastIDs {
            let query = try #require(Int(q))
            #expect(ids.map { UInt64($0) } == shared.ranking(fastQueries[query]).prefix(5).map(\.id.rawValue), "query \(q)")
        }
        let slowIDs = try #require(result["slow_ids"] as? [String: [Int]])
        for q in [0, 500, 999] {
            let ids = try #require(slowIDs[String(q)], "\(slowIDs.keys)")
            #expect(ids.map { UInt64($0) } == big.ranking(slowQueries[q]).prefix(10).map(\.id.rawValue), "slow query \(q)")
        }
        #expect(try await server.withClient { client async throws in try await client.count("writes") } == 64)
        try await server.stop()
    }
}
