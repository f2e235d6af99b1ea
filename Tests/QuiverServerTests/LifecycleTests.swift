import Foundation
import Synchronization
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Durability over the wire, deadlines and graceful shutdown, with the real server process.
@Suite struct LifecycleTests {
    static let schema = CollectionSchema(name: "d", dimension: 4, metric: .l2, fields: [FieldSchema(name: "batch", type: .int64)])

    static func batch(_ number: Int) -> [Record] {
        (0..<50).map { i in
            let id = UInt64(number * 50 + i)
            return Record(id: RecordID(id), vector: [Float(number), Float(i), 1, 2], fields: ["batch": .int64(Int64(number))])
        }
    }

    /// Upserts through the server, SIGKILLs it between acknowledged batches (at random moments,
    /// several rounds), restarts it on the same data and finds every acknowledged record.
    @Test func acknowledgedWritesSurviveKillingTheServer() async throws {
        let data = TemporaryDirectory()
        var rng = SeededRandom(seed: UInt64.random(in: 1...1_000_000))
        var acknowledged = 0  // batches 0..<acknowledged were acknowledged
        var server = try await TestServer(dataDirectory: data)
        try await server.withClient { client async throws in _ = try await client.createCollection(Self.schema) }
        for round in 0..<5 {
            let start = acknowledged
            let current = server
            let progress = Progress()
            let writer = Task { () -> Int in
                var next = start
                _ = try? await current.withClient { client async throws in
                    while true {
                        _ = try await client.upsert("d", Self.batch(next))
                        next += 1
                        progress.acknowledged(next - start)
                    }
                }
                return next
            }
            // Kill while writes flow: after this round's first acknowledgement (however slow the
            // machine is), then at a random moment.
            try await waitUntil("round \(round)'s first acknowledged batch") { progress.count > 0 }
            // The kill's moment within the writes is random on purpose (not a wait for anything).
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...250, using: &rng)))
            try await server.kill()
            acknowledged = await writer.value
            #expect(acknowledged > start, "round \(round): no batch was acknowledged before the kill")
            server = try await TestServer(dataDirectory: data)
            try await server.withClient { client async throws in
                let ids = (0..<(acknowledged * 50)).map { RecordID(UInt64($0)) }
                let stored = try await client.get("d", ids: ids, includeVectors: true)
                let missing = zip(ids, stored).filter { $0.1 == nil }.map(\.0)
                #expect(missing.isEmpty, "round \(round): \(missing.count) acknowledged records lost, first \(missing.first.map(String.init(describing:)) ?? "")")
                for number in max(0, acknowledged - 3)..<acknowledged {
                    for record in Self.batch(number) {
                        #expect(stored[Int(record.id.rawValue)]?.vector == record.vector, "round \(round) batch \(number)")
                    }
                }
                // The batch in flight when the server died is whole or absent.
                let inFlight = Self.batch(acknowledged).map(\.id)
                let present = try await client.get("d", ids: inFlight).filter { $0 != nil }.count
                #expect(present == 0 || present == 50, "round \(round): half a batch (\(present)/50)")
                if present == 50 { acknowledged += 1 }
            }
        }
        #expect(acknowledged >= 5, "the writers barely wrote: \(acknowledged) batches")
        try await server.stop()
    }

    @Test func deadlinesAreHonoured() async throws {
        let server = try await TestServer()
        try await server.withClient { client async throws in
            _ = try await client.createCollection(CollectionSchema(name: "big", dimension: 64, metric: .l2))
            var rng = SeededRandom(seed: 3)
            for b in 0..<4 {
                _ = try await client.upsert("big", (0..<5_000).map { i in
                    Record(id: RecordID(UInt64(b * 5_000 + i)), vector: (0..<64).map { _ in Float.random(in: -1...1, using: &rng) })
                })
            }
        }
        // 200 queries over 20,000 × 64 take far longer than 1 ms.
        try await server.withClient(timeout: .milliseconds(1)) { client async throws in
            let error = await thrownError {
                _ = try await client.search("big", queries: Array(repeating: Array(repeating: 0.5, count: 64), count: 200), k: 10)
            }
            #expect(error?.code == .deadlineExceeded)
        }
        try await server.withClient { client async throws in
            #expect(try await client.health())
            #expect(try await client.search("big", queries: [Array(repeating: 0.5, count: 64)], k: 3)[0].count == 3)
        }
        #expect(try await server.stop() == 0)
    }

    /// SIGTERM lets a call in flight finish and then exits cleanly; the data is all there.
    @Test func sigtermFinishesInFlightCallsThenExits() async throws {
        let data = TemporaryDirectory()
        let server = try await TestServer(dataDirectory: data)
        try await server.withClient { client async throws in _ = try await client.createCollection(Self.schema) }
        let (batches, feed) = AsyncStream<[Record]>.makeStream()
        let upload = Task {
            try await server.withClient { client async throws in try await client.upsertStream("d", batches: batches) }
        }
        feed.yield(Self.batch(0))
        // Wait until the first batch is committed (visible), so the call is surely in flight.
        try await server.withClient { client async throws in
            try await waitUntil("the first batch to be visible") { try await client.get("d", ids: [0])[0] != nil }
        }
        server.child.signal(SIGTERM)
        _ = try await server.child.waitForLine(in: .stderr, "the graceful shutdown notice") { $0.contains("shutting down gracefully") }
        #expect(server.child.isRunning, "the server exited with a call in flight")
        feed.yield(Self.batch(1))
        feed.finish()
        let (result, committed) = try await upload.value
        #expect(committed == 2 && result.inserted == 100)
        let exit = try await server.child.waitForExit()
        #expect(exit.status == 0 && !exit.signaled, "\(server.child.stderr)")
        #expect(server.child.stderr.contains("shutting down gracefully"))

        let restarted = try await TestServer(dataDirectory: data)
        try await restarted.withClient { client async throws in #expect(try await client.describeCollection("d").rows == 100) }
        try await restarted.stop()
    }

    @Test func secondSignalExitsAtOnce() async throws {
        let server = try await TestServer()
        try await server.withClient { client async throws in _ = try await client.createCollection(Self.schema) }
        let (batches, feed) = AsyncStream<[Record]>.makeStream()
        let upload = Task {
            try? await server.withClient { client async throws in try await client.upsertStream("d", batches: batches) }
        }
        feed.yield(Self.batch(0))
        try await server.withClient { client async throws in
            try await waitUntil("the first batch to be visible") { try await client.get("d", ids: [0])[0] != nil }
        }
        server.child.signal(SIGTERM)
        _ = try await server.child.waitForLine(in: .stderr, "the graceful shutdown notice") { $0.contains("shutting down gracefully") }
        #expect(server.child.isRunning)
        server.child.signal(SIGINT)
        let exit = try await server.child.waitForExit(timeout: .seconds(10))
        #expect(exit.status == 130 && !exit.signaled)
        #expect(server.child.stderr.contains("exiting at once"))
        feed.finish()
        _ = await upload.value
    }
}

/// Batches a writer task has had acknowledged, read by the test that kills the server.
private final class Progress: Sendable {
    private let value = Mutex(0)
    func acknowledged(_ count: Int) { value.withLock { $0 = count } }
    var count: Int { value.withLock { $0 } }
}
