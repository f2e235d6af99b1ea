import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `SearchSession` (the `SearchStream` call) against the brute-force oracle and the plain
/// `Search` call, with the real server process.
@Suite struct SearchSessionTests {
    static let schema = CollectionSchema(
        name: "s", dimension: 6, metric: .l2, fields: [FieldSchema(name: "n", type: .int64), FieldSchema(name: "tag", type: .string)])

    /// 400 records with small integer coordinates (exact scores) and ties.
    static func records() -> [Record] {
        var rng = SeededRandom(seed: 11)
        return (0..<400).map { i in
            Record(
                id: RecordID(UInt64(i)), vector: (0..<6).map { _ in Float(Int.random(in: -4...4, using: &rng)) },
                fields: ["n": .int64(Int64(i)), "tag": .string(i % 3 == 0 ? "a" : "b")])
        }
    }

    static func queries(_ count: Int, seed: UInt64) -> [[Float]] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in (0..<6).map { _ in Float(Int.random(in: -4...4, using: &rng)) } }
    }

    @Test func answersMatchTheOracleOneAtATimeAndFromManyTasks() async throws {
        let server = try await TestServer()
        let records = Self.records()
        var oracle = BruteForceOracle(metric: .l2, dimension: 6)
        for record in records { oracle.upsert(record.id, record.vector) }
        let expected = oracle
        try await server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema)
            _ = try await client.upsert("s", records)
            try await client.withSearchSession { session async throws in
                // One at a time, single and several queries per request, as the plain call answers.
                for (i, query) in Self.queries(20, seed: 1).enumerated() {
                    let hits = try await session.search("s", queries: [query], k: 7)
                    #expect(hits[0].map(\.id) == expected.search(query, k: 7).map(\.id), "query \(i)")
                    #expect(hits[0].map { Double($0.score) } == expected.search(query, k: 7).map(\.score), "query \(i)")
                }
                let several = Self.queries(5, seed: 2)
                #expect(try await session.search("s", queries: several, k: 4) == (try await client.search("s", queries: several, k: 4)))

                // Options travel: a filter, fields, vectors, the plan.
                let options = SearchOptions(includeVectors: true, fields: .only(["n"]), filter: "tag == \"a\"")
                let (filtered, plan) = try await session.explainedSearch("s", queries: [several[0]], k: 5, options: options)
                let direct = try await client.explainedSearch("s", queries: [several[0]], k: 5, options: options)
                #expect(filtered == direct.hits)
                #expect(filtered[0].allSatisfy { $0.id.rawValue % 3 == 0 && $0.fields == ["n": .int64(Int64($0.id.rawValue))] })
                #expect(filtered[0].allSatisfy { $0.vector == records[Int($0.id.rawValue)].vector })
                #expect(plan?.passingRows == 134 && plan?.filter == direct.plan?.filter && plan?.segments == direct.plan?.segments)

                // Eight tasks share the session, their requests interleaved on the one stream:
                // each gets the answer to its own query.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for t in 0..<8 {
                        group.addTask {
                            for (i, query) in Self.queries(15, seed: 100 + UInt64(t)).enumerated() {
                                let k = 1 + (t + i) % 9
                                let hits = try await session.search("s", queries: [query], k: k)
                                #expect(hits[0].map(\.id) == expected.search(query, k: k).map(\.id), "task \(t) query \(i)")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
        #expect(try await server.stop() == 0)
    }

    @Test func aFailedSearchEndsTheSessionAndNothingElse() async throws {
        let server = try await TestServer()
        try await server.withClient { client async throws in
            _ = try await client.createCollection(Self.schema)
            _ = try await client.upsert("s", Self.records())
            let query = Self.queries(1, seed: 3)
            try await client.withSearchSession { session async throws in
                _ = try await session.search("s", queries: query, k: 3)
                let dimension = await thrownError { _ = try await session.search("s", queries: [[1, 2, 3]], k: 3) }
                #expect(dimension?.code == .invalidArgument && dimension?.reason == .dimensionMismatch)
                #expect(dimension?.collection == "s" && dimension?.field == "queries")
                let after = await thrownError { _ = try await session.search("s", queries: query, k: 3) }
                #expect(after?.code == .failedPrecondition && after?.reason == .sessionClosed)
                #expect(after?.message.contains("dimension") == true, "\(after?.message ?? "")")
            }
            // A new session, and the plain call, still work; an unknown collection fails the same way.
            try await client.withSearchSession { session async throws in
                #expect(try await session.search("s", queries: query, k: 3) == (try await client.search("s", queries: query, k: 3)))
                let missing = await thrownError { _ = try await session.search("nope", queries: query, k: 3) }
                #expect(missing?.code == .notFound && missing?.reason == .collectionNotFound && missing?.collection == "nope")
            }
            // Searches sent after the body returned find the session closed.
            let kept = try await client.withSearchSession { $0 }
            let late = await thrownError { _ = try await kept.search("s", queries: query, k: 3) }
            #expect(late?.reason == .sessionClosed)
        }
        #expect(try await server.stop() == 0)
    }

    /// SIGTERM: a search running on a session is answered, an idle session does not hold the
    /// shutdown, and both sessions then report the shutdown as UNAVAILABLE.
    @Test func shutdownAnswersTheRunningSearchThenEndsSessions() async throws {
        let server = try await TestServer()
        var rng = SeededRandom(seed: 5)
        let big = CollectionSchema(name: "big", dimension: 64, metric: .l2)
        try await server.withClient { client async throws in
            _ = try await client.createCollection(big)
            for b in 0..<8 {
                _ = try await client.upsert("big", (0..<5_000).map { i in
                    Record(id: RecordID(UInt64(b * 5_000 + i)), vector: (0..<64).map { _ in Float.random(in: -1...1, using: &rng) })
                })
            }
        }
        // 4,000 queries over 40,000 × 64: about a second per search in a debug build.
        let queries = (0..<4_000).map { q in (0..<64).map { Float(($0 + q) % 7) } }
        try await server.withClient { client async throws in
            try await client.withSearchSession { idle async throws in
                _ = try await idle.search("big", queries: [queries[0]], k: 1)
                try await client.withSearchSession { busy async throws in
                    // Two long searches sent together: when the first is answered the server has
                    // the second (sent while the first ran) and starts on it at once, so a signal
                    // sent as soon as the first answer arrives finds the second running (it takes
                    // as long as the first; handling an answer takes milliseconds).
                    let (answers, answered) = AsyncStream<(hits: [[SearchHit]], at: ContinuousClock.Instant)>.makeStream()
                    let running = Task {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for _ in 0..<2 { group.addTask { answered.yield((try await busy.search("big", queries: queries, k: 5), .now)) } }
                            try await group.waitForAll()
                        }
                        answered.finish()
                    }
                    var arrivals = answers.makeAsyncIterator()
                    let first = await arrivals.next()
                    let signalled = ContinuousClock.now
                    server.child.signal(SIGTERM)
                    let second = await arrivals.next()
                    try await running.value
                    #expect(second.map { $0.at > signalled } == true, "the second search ended before the signal")
                    for answer in [first, second] {
                        #expect(answer?.hits.count == 4_000 && answer?.hits.allSatisfy { $0.count == 5 } == true)
                    }
                    let exit = try await server.child.waitForExit(timeout: .seconds(30))
                    #expect(exit.status == 0 && !exit.signaled, "\(server.child.stderr)")
                    for session in [busy, idle] {
                        let after = await thrownError { _ = try await session.search("big", queries: [queries[0]], k: 1) }
                        #expect(after?.code == .unavailable && after?.message.contains("shutting down") == true, "\(String(describing: after))")
                    }
                }
            }
        }
    }
}
