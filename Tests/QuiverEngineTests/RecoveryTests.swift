import Foundation
import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

/// Model-based: random upserts, deletes, creates, drops and reopens, checked against a dictionary
/// model after every reopen — the in-memory state must be rebuilt from RocksDB alone.
@Suite struct RecoveryTests {
    struct Model {
        var schemas: [String: CollectionSchema] = [:]
        var records: [String: [RecordID: Record]] = [:]
    }

    @Test(arguments: [UInt64(11), 12, 13])
    func randomOperationsSurviveReopen(seed: UInt64) async throws {
        var rng = SeededRandom(seed: seed)
        let dir = TemporaryDirectory()
        var model = Model()
        let names = ["a", "b", "c"]
        for session in 0..<5 {
            try await withDatabase(dir) { db async throws in
                try await Self.verify(db, model, context: "seed=\(seed) session=\(session)")
                for _ in 0..<25 {
                    let name = names.randomElement(using: &rng)!
                    guard let schema = model.schemas[name] else {
                        let schema = CollectionSchema(
                            name: name, dimension: Int.random(in: 1...16, using: &rng), metric: Metric.allCases.randomElement(using: &rng)!,
                            fields: [FieldSchema(name: "n", type: .int64), FieldSchema(name: "s", type: .string)])
                        _ = try await db.createCollection(schema)
                        model.schemas[name] = schema
                        model.records[name] = [:]
                        continue
                    }
                    switch Int.random(in: 0..<20, using: &rng) {
                    case 0:
                        try await db.dropCollection(name)
                        model.schemas[name] = nil
                        model.records[name] = nil
                    case 1...5:
                        let ids = (0..<Int.random(in: 1...30, using: &rng)).map { _ in RecordID(UInt64.random(in: 0..<200, using: &rng)) }
                        _ = try await db.delete(name, ids: ids)
                        ids.forEach { model.records[name]![$0] = nil }
                    default:
                        var ids = Set<UInt64>()
                        let size = Int.random(in: 1...60, using: &rng)
                        while ids.count < size { ids.insert(UInt64.random(in: 0..<200, using: &rng)) }
                        let records = ids.map { id in
                            Record(
                                id: RecordID(id), vector: randomVector(schema.dimension, integer: true, using: &rng),
                                fields: Bool.random(using: &rng) ? ["n": .int64(Int64(id)), "s": .string("v\(id)")] : [:])
                        }
                        _ = try await db.upsert(name, records)
                        records.forEach { model.records[name]![$0.id] = $0 }
                    }
                }
            }
        }
        try await withDatabase(dir) { db async throws in try await Self.verify(db, model, context: "seed=\(seed) final") }
    }

    static func verify(_ db: Database, _ model: Model, context: String) async throws {
        #expect(try db.listCollections().map(\.name) == model.schemas.keys.sorted(), "\(context)")
        for (name, schema) in model.schemas {
            #expect(try db.describeCollection(name).schema == schema, "\(context)")
            let records = model.records[name]!
            #expect(try db.describeCollection(name).rows == records.count, "\(context) \(name)")
            let ids = (0..<200).map { RecordID(UInt64($0)) }
            let stored = try await db.get(name, ids: ids)
            for (id, got) in zip(ids, stored) {
                guard let want = records[id] else {
                    #expect(got == nil, "\(context) \(name) id \(id) should be absent")
                    continue
                }
                let record = try #require(got, "\(context) \(name) id \(id) missing")
                let vector = schema.metric == .cosine ? BruteForceOracle.normalized(want.vector) : want.vector
                #expect(zip(record.vector!, vector).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(context) \(name) id \(id)")
                #expect(record.fields["n"] == (want.fields["n"] ?? .null) && record.fields["s"] == (want.fields["s"] ?? .null))
            }
            var oracle = BruteForceOracle(metric: schema.metric, dimension: schema.dimension)
            records.values.forEach { oracle.upsert($0.id, $0.vector) }
            let query = [Float](repeating: 1, count: schema.dimension)
            try await checkSearch(db, name, oracle: oracle, queries: [query], k: 15, exact: schema.metric != .cosine, context: context)
        }
    }
}
