import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

/// Every rejected write: the error names the cause, and nothing of the batch is written — not to
/// memory, not to RocksDB, not visible after a reopen.
@Suite struct WriteRejectionTests {
    static let schema = CollectionSchema(
        name: "docs", dimension: 3, metric: .cosine,
        fields: [FieldSchema(name: "year", type: .int64), FieldSchema(name: "title", type: .string, nullable: false)])

    static func good(_ id: UInt64) -> Record {
        Record(id: RecordID(id), vector: [1, Float(id), 2], fields: ["title": .string("t\(id)"), "year": .int64(2000)])
    }

    /// A batch of 10 good new records with `bad` in the middle.
    static func batch(with bad: Record) -> [Record] {
        (100..<105).map(good) + [bad] + (105..<110).map(good)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let records: [Record]
        let reason: QuiverError.Reason
        let field: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        func bad(_ vector: [Float], _ fields: [String: FieldValue] = ["title": .string("x")]) -> Record {
            Record(id: 1, vector: vector, fields: fields)
        }
        return [
            Case(name: "wrong dimension", records: batch(with: bad([1, 2])), reason: .dimensionMismatch, field: "vector"),
            Case(name: "NaN component", records: batch(with: bad([1, .nan, 2])), reason: .nonFiniteVector, field: "vector"),
            Case(name: "infinite component", records: batch(with: bad([-.infinity, 1, 2])), reason: .nonFiniteVector, field: "vector"),
            Case(name: "zero vector under cosine", records: batch(with: bad([0, 0, 0])), reason: .zeroVector, field: "vector"),
            Case(
                name: "unknown field", records: batch(with: bad([1, 2, 3], ["title": .string("x"), "author": .string("me")])),
                reason: .unknownField, field: "author"),
            Case(
                name: "wrong field type", records: batch(with: bad([1, 2, 3], ["title": .string("x"), "year": .string("1999")])),
                reason: .fieldTypeMismatch, field: "year"),
            Case(name: "missing required field", records: batch(with: bad([1, 2, 3], [:])), reason: .nullNotAllowed, field: "title"),
            Case(name: "duplicate id in the batch", records: batch(with: good(103)), reason: .duplicateID, field: "id"),
            Case(name: "empty batch", records: [], reason: .emptyBatch, field: nil),
            Case(
                name: "oversized batch", records: Array(repeating: good(1), count: Limits.batchRecordsMax + 1),
                reason: .limitExceeded, field: "records"),
        ]
    }()

    @Test(arguments: cases)
    func rejectedBatchWritesNothing(_ testCase: Case) async throws {
        let dir = TemporaryDirectory()
        // Existing records that the bad batch would also replace (id 1 is the bad record of most cases).
        let existing = [Self.good(1), Self.good(50)]
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema)
            _ = try await db.upsert("docs", existing)
            let before = try await db.get("docs", ids: existing.map(\.id))
            let opsBefore = db.statistics.committedOps

            let error = await thrownError { _ = try await db.upsert("docs", testCase.records) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.reason == testCase.reason)
            #expect(error?.collection == "docs")
            if let field = testCase.field { #expect(error?.field == field) }

            #expect(db.statistics.committedOps == opsBefore)
            #expect(try db.describeCollection("docs").rows == 2)
            #expect(try db.storedEntries("docs") == (2, 2))
            #expect(try await db.get("docs", ids: (100..<110).map { RecordID($0) }).allSatisfy { $0 == nil })
            #expect(try await db.get("docs", ids: existing.map(\.id)) == before)
        }
        try await withDatabase(dir) { db async throws in
            #expect(try db.describeCollection("docs").rows == 2)
            #expect(try await db.get("docs", ids: (100..<110).map { RecordID($0) }).allSatisfy { $0 == nil })
        }
    }

    @Test func writesToAMissingCollectionAreRejected() async throws {
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            let upsert = await thrownError { _ = try await db.upsert("nope", [Self.good(1)]) }
            #expect(upsert?.code == .notFound && upsert?.reason == .collectionNotFound && upsert?.collection == "nope")
            let delete = await thrownError { _ = try await db.delete("nope", ids: [1]) }
            #expect(delete?.code == .notFound)
            let get = await thrownError { _ = try await db.get("nope", ids: [1]) }
            #expect(get?.code == .notFound)
            let search = await thrownError { _ = try await db.search("nope", queries: [[1, 2, 3]], k: 1) }
            #expect(search?.code == .notFound)
            #expect(db.statistics.committedOps == 0)
            #expect(try db.listCollections().isEmpty)
        }
        try await withDatabase(dir) { db async throws in #expect(try db.listCollections().isEmpty) }
    }

    @Test func badReadArgumentsAreRejected() async throws {
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema)
            let q: [Float] = [1, 2, 3]
            #expect(await thrownError { _ = try await db.search("docs", queries: [q], k: 0 ) }?.reason == .invalidK)
            #expect(await thrownError { _ = try await db.search("docs", queries: [q], k: 16_385) }?.reason == .invalidK)
            #expect(await thrownError { _ = try await db.search("docs", queries: [], k: 1) }?.reason == .emptyBatch)
            #expect(await thrownError { _ = try await db.search("docs", queries: [[1, 2]], k: 1) }?.reason == .dimensionMismatch)
            #expect(await thrownError { _ = try await db.search("docs", queries: [[1, .nan, 2]], k: 1) }?.reason == .nonFiniteVector)
            #expect(await thrownError { _ = try await db.search("docs", queries: [[0, 0, 0]], k: 1) }?.reason == .zeroVector)
            #expect(
                await thrownError { _ = try await db.search("docs", queries: Array(repeating: q, count: 300), k: 16_384) }?.reason
                    == .limitExceeded)
            #expect(
                await thrownError {
                    _ = try await db.search("docs", queries: [q], k: 1, options: SearchOptions(fields: .only(["nope"])))
                }?.reason == .unknownField)
            #expect(await thrownError { _ = try await db.delete("docs", ids: []) }?.reason == .emptyBatch)
            #expect(await thrownError { _ = try await db.get("docs", ids: []) }?.reason == .emptyBatch)
            #expect(await thrownError { _ = try await db.get("docs", ids: [1], fields: .only(["x"])) }?.reason == .unknownField)
        }
    }

    @Test func callsAfterCloseAreRefused() async throws {
        let dir = TemporaryDirectory()
        let db = try await Database.open(path: dir.path, options: quietOptions())
        _ = try await db.createCollection(Self.schema)
        try await db.close()
        #expect(await thrownError { _ = try await db.upsert("docs", [Self.good(1)]) }?.reason == .databaseClosed)
        #expect(await thrownError { _ = try db.listCollections() }?.code == .unavailable)
    }

    /// Under `l2` and `ip`, finite components can still be so large that a score overflows
    /// float32 (a search over them returned `inf`): such vectors and queries are refused, and up
    /// to the bound every score stays finite.
    @Test(arguments: [Metric.l2, .ip])
    func vectorsWhoseScoresWouldOverflowAreRefused(metric: Metric) async throws {
        let dir = TemporaryDirectory()
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(CollectionSchema(name: "big", dimension: 3, metric: metric))
            let huge: [Float] = [1e30, -1e30, 1]
            #expect(await thrownError { _ = try await db.upsert("big", [Record(id: 1, vector: huge)]) }?.reason == .vectorOutOfRange)
            #expect(try db.describeCollection("big").rows == 0)
            // Components of 1e18 are near the bound (squared length 2e36 of at most 8.5e37).
            let large: [Float] = [1e18, -1e18, 1]
            _ = try await db.upsert("big", [Record(id: 2, vector: large), Record(id: 3, vector: [-1e18, 1e18, 0])])
            #expect(await thrownError { _ = try await db.search("big", queries: [huge], k: 2) }?.reason == .vectorOutOfRange)
            let hits = try await db.search("big", queries: [[-1e18, 1e18, 0], large], k: 2)
            #expect(hits.allSatisfy { $0.count == 2 && $0.allSatisfy(\.score.isFinite) }, "\(hits)")
        }
    }
}
