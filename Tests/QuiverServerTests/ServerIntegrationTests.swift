import Foundation
import QuiverClient
import QuiverCore
import QuiverServerTesting
import QuiverTesting
import Testing

/// The real server process, driven through `QuiverClient`, checked against the brute-force
/// oracle and against what was written.
@Suite struct ServerIntegrationTests {
    static let schema = CollectionSchema(
        name: "books", dimension: 8, metric: .l2,
        fields: [
            FieldSchema(name: "title", type: .string, nullable: false), FieldSchema(name: "year", type: .int64),
            FieldSchema(name: "price", type: .double), FieldSchema(name: "labels", type: .tags),
            FieldSchema(name: "available", type: .bool),
        ])

    static func record(_ id: UInt64, using rng: inout SeededRandom) -> Record {
        Record(
            id: RecordID(id), vector: (0..<8).map { _ in Float(Int.random(in: -5...5, using: &rng)) },
            fields: [
                "title": .string("book \(id) – ü"), "year": .int64(1900 + Int64(id % 120)),
                "price": .double(Double(id) / 3), "labels": .tags(["l\(id % 3)", "all"]),
                "available": .bool(id % 2 == 0),
            ])
    }

    @Test func collectionsDataAndSearchOverTheWire() async throws {
        let server = try await TestServer()
        try await server.withClient { client async throws in
            #expect(try await client.health())
            let version = try await client.version()
            #expect(version.protocol == "quiver.v1" && !version.version.isEmpty)

            let created = try await client.createCollection(Self.schema)
            #expect(created.schema == Self.schema && created.rows == 0)
            _ = try await client.createCollection(CollectionSchema(name: "other", dimension: 2, metric: .ip))
            #expect(try await client.listCollections().map(\.name) == ["books", "other"])

            var rng = SeededRandom(seed: 99)
            var oracle = BruteForceOracle(metric: .l2, dimension: 8)
            var written: [RecordID: Record] = [:]
            // Three plain batches, then a streamed load of four more.
            for b in 0..<3 {
                let records = (0..<100).map { Self.record(UInt64(b * 100 + $0), using: &rng) }
                let result = try await client.upsert("books", records)
                #expect(result == UpsertResult(inserted: 100, replaced: 0))
                for r in records { oracle.upsert(r.id, r.vector); written[r.id] = r }
            }
            let streamed = (0..<4).map { b in (0..<75).map { Self.record(UInt64(250 + b * 75 + $0), using: &rng) } }
            let (streamResult, batches) = try await client.upsertStream("books", batches: streamed.asyncStream)
            #expect(batches == 4 && streamResult == UpsertResult(inserted: 250, replaced: 50))
            for r in streamed.joined() { oracle.upsert(r.id, r.vector); written[r.id] = r }
            #expect(try await client.describeCollection("books").rows == 550)

            // Deletes.
            let deleted = try await client.delete("books", ids: [0, 1, 2, 9_999])
            #expect(deleted == 3)
            for id in [0, 1, 2] as [RecordID] { oracle.delete(id); written[id] = nil }

            // Get: vectors bit for bit, all fields, missing ids as nil.
            let ids: [RecordID] = [0, 5, 300, 549, 12_345]
            let got = try await client.get("books", ids: ids)
            #expect(got[0] == nil && got[4] == nil)
            for (id, stored) in zip(ids, got) where written[id] != nil {
                let want = written[id]!
                #expect(stored?.vector?.map(\.bitPattern) == want.vector.map(\.bitPattern))
                #expect(stored?.fields == want.fields)
            }
            let onlyTitle = try await client.get("books", ids: [5], includeVectors: false, fields: .only(["title"]))
            #expect(onlyTitle == [StoredRecord(id: 5, vector: nil, fields: ["title": .string("book 5 – ü")])])

            // Search: ids, scores and tie order equal the oracle (integer data is exact).
            let queries = (0..<30).map { _ in (0..<8).map { _ in Float(Int.random(in: -5...5, using: &rng)) } }
            for (nq, k) in [(1, 10), (30, 25)] {
                let results = try await client.search("books", queries: Array(queries.prefix(nq)), k: k)
                for (q, hits) in results.enumerated() {
                    let want = oracle.search(queries[q], k: k)
                    #expect(hits.map(\.id) == want.map(\.id))
                    #expect(hits.map { Double($0.score) } == want.map(\.score))
                }
            }
            // Fields and vectors with the hits.
            let withFields = try await client.search(
                "books", queries: [queries[0]], k: 3, options: SearchOptions(includeVectors: true, fields: .only(["year", "labels"])))
            for hit in withFields[0] {
                let want = written[hit.id]!
                #expect(hit.vector == want.vector)
                #expect(hit.fields == ["year": want.fields["year"]!, "labels": want.fields["labels"]!])
            }

            let stats = try await client.stats()
            #expect(stats.collections.map(\.name) == ["books", "other"] && stats.collections[0].rows == 547)
            #expect(stats.syncPolicy == "always" && stats.committedOps >= 10)

            try await client.dropCollection("other")
            #expect(try await client.listCollections().map(\.name) == ["books"])
        }
        #expect(try await server.stop() == 0)

        // Everything is still there after a restart on the same data.
        let restarted = try await TestServer(dataDirectory: server.dataDirectory)
        try await restarted.withClient { client async throws in
            #expect(try await client.describeCollection("books").rows == 547)
            #expect(try await client.get("books", ids: [0, 5]).map { $0?.id } == [nil, 5])
        }
        try await restarted.stop()
    }
}
