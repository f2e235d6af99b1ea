import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

@Suite struct ReadWriteTests {
    static let schema = CollectionSchema(
        name: "r", dimension: 4, metric: .ip,
        fields: [
            FieldSchema(name: "i", type: .int64), FieldSchema(name: "d", type: .double), FieldSchema(name: "b", type: .bool),
            FieldSchema(name: "s", type: .string), FieldSchema(name: "t", type: .tags),
        ])

    @Test func getReturnsVectorsAndFieldsBitForBitAcrossReopen() async throws {
        let dir = TemporaryDirectory()
        let records = [
            Record(
                // The largest component a vector may have under ip is bounded (its squared length
                // at most `Metric.squaredNormMax`, so that no score overflows): 2^62 is near it.
                id: RecordID(UInt64.max), vector: [.leastNonzeroMagnitude, -0.0, 0x1p62, 1e-38],
                fields: [
                    "i": .int64(.min), "d": .double(.infinity), "b": .bool(false), "s": .string("ünï\u{0}code"),
                    "t": .tags(["a", "", "a"]),
                ]),
            Record(id: 0, vector: [1, 2, 3, 4], fields: ["d": .double(-0.0), "t": .tags([])]),
        ]
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema)
            let result = try await db.upsert("r", records)
            #expect(result == UpsertResult(inserted: 2, replaced: 0))
        }
        try await withDatabase(dir) { db async throws in
            let got = try await db.get("r", ids: [RecordID(UInt64.max), 7, 0])
            #expect(got[1] == nil)
            for (record, stored) in zip(records, [got[0], got[2]]) {
                let stored = try #require(stored)
                #expect(stored.id == record.id)
                #expect(stored.vector!.map(\.bitPattern) == record.vector.map(\.bitPattern))
                for field in Self.schema.fields {
                    #expect(stored.fields[field.name] == (record.fields[field.name] ?? .null))
                }
            }
            if case .double(let d) = got[2]?.fields["d"] { #expect(d.sign == .minus) } else { Issue.record("d") }
            let onlyS = try await db.get("r", ids: [0], includeVectors: false, fields: .only(["s"]))
            #expect(onlyS[0] == StoredRecord(id: 0, vector: nil, fields: ["s": .null]))
        }
    }

    @Test func upsertReplacesAndDeleteRemoves() async throws {
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema)
            _ = try await db.upsert("r", [Record(id: 1, vector: [1, 0, 0, 0], fields: ["i": .int64(1)])])
            let replaced = try await db.upsert("r", [
                Record(id: 1, vector: [0, 1, 0, 0], fields: ["i": .int64(2)]), Record(id: 2, vector: [0, 0, 1, 0]),
            ])
            #expect(replaced == UpsertResult(inserted: 1, replaced: 1))
            #expect(try db.describeCollection("r").rows == 2)
            #expect(try db.storedEntries("r") == (2, 2))
            // The replaced version is never returned: searching for it finds the new one or others.
            let hits = try await db.search("r", queries: [[1, 0, 0, 0]], k: 5, options: SearchOptions(fields: .only(["i"])))
            #expect(hits[0].map(\.id) == [1, 2] && hits[0].allSatisfy { $0.score == 0 })
            #expect(hits[0][0].fields == ["i": .int64(2)])
            #expect(try await db.get("r", ids: [1])[0]?.vector == [0, 1, 0, 0])

            #expect(try await db.delete("r", ids: [1, 1, 99]) == 1)
            #expect(try await db.get("r", ids: [1]) == [nil])
            #expect(try await db.search("r", queries: [[0, 1, 0, 0]], k: 5)[0].map(\.id) == [2])
            #expect(try db.storedEntries("r") == (1, 1))
            // Deleting again is not an error and deletes nothing.
            #expect(try await db.delete("r", ids: [1]) == 0)
        }
        try await withDatabase(dir) { db async throws in
            #expect(try db.describeCollection("r").rows == 1)
            #expect(try await db.get("r", ids: [1, 2]).map { $0?.id } == [nil, 2])
        }
    }

    @Test func rowIDsAreNeverReusedAcrossReopen() async throws {
        let dir = TemporaryDirectory()
        let plain = CollectionSchema(name: "n", dimension: 1, metric: .l2)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(plain)
            _ = try await db.upsert("n", [Record(id: 1, vector: [1]), Record(id: 2, vector: [2])])
            // Deleting the newest row must not let the next open hand its row id out again.
            _ = try await db.delete("n", ids: [2])
        }
        try await withDatabase(dir) { db async throws in
            let next = try db.registry.require("n").data.withLock { $0.nextRowID }
            #expect(next == RowID(2))
            _ = try await db.upsert("n", [Record(id: 3, vector: [3])])
            #expect(try await db.search("n", queries: [[3]], k: 3)[0].map(\.id) == [3, 1])
        }
    }

    @Test func readsSeeOnlyCommittedStateWhileWritesRun() async throws {
        // Readers racing writers: every search result must be internally consistent — each id at
        // most once, each score equal to that id's vector at some committed version.
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .l2))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for round in 0..<40 {
                        // Record i always lies on the line y = i, at x = round.
                        _ = try await db.upsert("c", (0..<50).map { Record(id: RecordID(UInt64($0)), vector: [Float(round), Float($0)]) })
                    }
                }
                group.addTask {
                    for _ in 0..<60 {
                        let hits = try await db.search("c", queries: [[0, 0]], k: 50)[0]
                        #expect(Set(hits.map(\.id)).count == hits.count)
                        for hit in hits {
                            let y = Float(hit.id.rawValue)
                            let x2 = hit.score - y * y
                            #expect(x2 >= 0 && Float(Int(x2.squareRoot())) == x2.squareRoot())
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
