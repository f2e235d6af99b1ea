import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

@Suite struct CollectionTests {
    @Test func createListDescribeDrop() async throws {
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            let schema = CollectionSchema(
                name: "books", dimension: 4, metric: .cosine,
                fields: [FieldSchema(name: "year", type: .int64), FieldSchema(name: "tags", type: .tags, nullable: false)])
            let info = try await db.createCollection(schema)
            #expect(info.schema == schema && info.rows == 0)
            _ = try await db.createCollection(CollectionSchema(name: "apples", dimension: 2, metric: .l2))
            #expect(try db.listCollections().map(\.name) == ["apples", "books"])
            #expect(try db.describeCollection("books").schema == schema)

            let taken = await thrownError { _ = try await db.createCollection(schema) }
            #expect(taken?.code == .alreadyExists && taken?.collection == "books")
            let bad = await thrownError { _ = try await db.createCollection(CollectionSchema(name: "x y", dimension: 2, metric: .l2)) }
            #expect(bad?.reason == .invalidName)

            try await db.dropCollection("apples")
            #expect(try db.listCollections().map(\.name) == ["books"])
            let missing = await thrownError { try await db.dropCollection("apples") }
            #expect(missing?.code == .notFound && missing?.reason == .collectionNotFound)
            let describe = await thrownError { _ = try db.describeCollection("apples") }
            #expect(describe?.code == .notFound)
        }
        // The catalog comes back from RocksDB alone.
        try await withDatabase(dir) { db async throws in
            #expect(try db.listCollections().map(\.name) == ["books"])
            #expect(try db.describeCollection("books").schema.fields.map(\.name) == ["year", "tags"])
        }
    }

    @Test func dropRemovesAllDataAndTheNameCanBeReused() async throws {
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            let schema = CollectionSchema(name: "c", dimension: 3, metric: .l2, fields: [FieldSchema(name: "n", type: .int64)])
            _ = try await db.createCollection(schema)
            let oldID = try db.collectionID("c")
            _ = try await db.upsert("c", (0..<500).map { Record(id: RecordID($0), vector: [Float($0), 1, 2], fields: ["n": .int64(Int64($0))]) })
            #expect(try db.storedEntries("c") == (500, 500))
            try await db.dropCollection("c")
            // Recreated under the same name: a new, empty collection with a new id.
            _ = try await db.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .ip))
            #expect(try db.collectionID("c") != oldID)
            #expect(try db.describeCollection("c").rows == 0)
            #expect(try db.store.countEntries(of: oldID) == (0, 0))
            #expect(try await db.search("c", queries: [[1, 0]], k: 10) == [[]])
            #expect(try await db.get("c", ids: [1, 2]) == [nil, nil])
        }
        try await withDatabase(dir) { db async throws in
            #expect(try db.describeCollection("c").schema.dimension == 2)
            #expect(try db.describeCollection("c").rows == 0)
        }
    }

    @Test func writesToACollectionDroppedWhileQueuedFail() async throws {
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(CollectionSchema(name: "c", dimension: 2, metric: .l2))
            // Race many writers against a drop: each write either lands before the drop (and is
            // then removed with the collection) or fails with notFound; nothing survives.
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            _ = try await db.upsert("c", [Record(id: RecordID(UInt64(i)), vector: [1, 2])])
                        } catch let error as QuiverError {
                            #expect(error.code == .notFound)
                        } catch {
                            Issue.record("\(error)")
                        }
                    }
                }
                group.addTask { try? await db.dropCollection("c") }
            }
            #expect(try db.listCollections().isEmpty)
        }
    }
}
