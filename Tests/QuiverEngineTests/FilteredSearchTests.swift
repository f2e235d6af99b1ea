import Foundation
import QuiverCore
@testable import QuiverEngine
import QuiverFilter
import QuiverTesting
import Testing

/// Filtered search, count, get and delete against an independent oracle: random records with
/// random field values (nulls included), random filter expressions from the grammar generator,
/// each with its plain Swift predicate. The expected result of a filtered search is brute force
/// over the records the predicate passes. With nprobe = nlist (Flat codes, integer vectors) the
/// results must be equal, ties included; at the default nprobe every hit must pass and k hits
/// must come back whenever k records pass. Segments are small so that a collection has indexed,
/// sealed and growing segments, deletes and replacements at once; the checks run again after a
/// reopen, when every segment's field columns are rebuilt from storage.
@Suite struct FilteredSearchTests {
    static let dimension = 8
    static let nlist = 8

    static func schema(metric: Metric) -> CollectionSchema {
        CollectionSchema(
            name: "f", dimension: dimension, metric: metric, fields: FilterGenerator.fields,
            index: IndexSettings(codes: .flat, nlist: nlist, segmentRows: 256))
    }

    struct Model {
        var oracle: BruteForceOracle
        var rows: [RecordID: FilterGenerator.Row] = [:]

        func passing(_ predicate: FilterGenerator.Predicate) -> BruteForceOracle {
            var restricted = BruteForceOracle(metric: oracle.metric, dimension: oracle.dimension)
            for (id, row) in rows where predicate(row) { restricted.upsert(id, oracle.vectors[id]!) }
            return restricted
        }
    }

    /// Fills the collection: inserts, replacements (new values for old ids), deletes.
    static func fill(_ db: Database, metric: Metric, using rng: inout SeededRandom) async throws -> Model {
        var model = Model(oracle: BruteForceOracle(metric: metric, dimension: dimension))
        for round in 0..<8 {
            let records = (0..<200).map { i -> (Record, FilterGenerator.Row) in
                // Ids overlap earlier rounds: about a quarter are replacements.
                let id = RecordID(UInt64(round * 150 + i))
                let row = FilterGenerator.randomRow(&rng)
                return (Record(id: id, vector: randomVector(dimension, integer: true, using: &rng), fields: FilterGenerator.recordFields(row)), row)
            }
            _ = try await db.upsert("f", records.map(\.0))
            for (record, row) in records {
                model.oracle.upsert(record.id, record.vector)
                model.rows[record.id] = row
            }
            let deleted = (0..<30).map { _ in RecordID(UInt64.random(in: 0..<UInt64(round * 150 + 200), using: &rng)) }
            _ = try await db.delete("f", ids: deleted)
            for id in deleted {
                model.oracle.delete(id)
                model.rows.removeValue(forKey: id)
            }
        }
        return model
    }

    static func check(_ db: Database, _ model: Model, expressions: Int, using rng: inout SeededRandom) async throws {
        var strategies = Set<SearchPlan.Strategy>()
        for e in 0..<expressions {
            let (text, predicate) = FilterGenerator.expression(&rng, depth: 3)
            let passing = model.passing(predicate)
            let context = "filter #\(e): \(text) (\(passing.count) pass)"
            #expect(try await db.count("f", filter: text) == passing.count, "\(context)")
            let queried = try await db.query("f", filter: text, limit: 50)
            #expect(queried.map(\.id) == Array(passing.vectors.keys.sorted().prefix(50)), "\(context)")
            #expect(queried.allSatisfy { record in
                FilterGenerator.fields.enumerated().allSatisfy { i, field in (record.fields[field.name] ?? .null) == model.rows[record.id]![i] }
            }, "\(context)")

            let queries = (0..<3).map { _ in randomVector(dimension, integer: true, using: &rng) }
            let k = [1, 10, 40].randomElement(using: &rng)!
            let (exact, plan) = try await db.explainedSearch(
                "f", queries: queries, k: k, options: SearchOptions(nprobe: Self.nlist, filter: text))
            #expect(plan.passingRows == passing.count, "\(context)")
            plan.segments.forEach { strategies.insert($0.strategy) }
            for (q, hits) in exact.enumerated() {
                let want = passing.search(queries[q], k: k)
                #expect(hits.map(\.id) == want.map(\.id), "\(context), query \(q), k \(k)")
                #expect(hits.map { Double($0.score) } == want.map(\.score), "\(context), query \(q)")
            }
            // Default nprobe (1 of 8 lists here): hits may differ, but all pass and k come back.
            let partial = try await db.search("f", queries: queries, k: k, options: SearchOptions(filter: text))
            for hits in partial {
                #expect(hits.count == min(k, passing.count), "\(context): \(hits.count) hits")
                #expect(hits.allSatisfy { passing.vectors[$0.id] != nil }, "\(context)")
            }
        }
        // The generator's filters are varied enough to reach every strategy.
        #expect(strategies.isSuperset(of: [.exact, .exactRows, .ivf, .skipped]), "\(strategies)")
    }

    @Test(arguments: [(Metric.l2, UInt64(1)), (.ip, 2), (.l2, 3)])
    func filteredSearchesMatchThePredicateAndBruteForce(metric: Metric, seed: UInt64) async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: seed)
        var model: Model!
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema(metric: metric))
            model = try await Self.fill(db, metric: metric, using: &rng)
            try await db.waitForBackgroundWork()
            let phases = Set(try db.describeCollection("f").segments.map(\.phase))
            #expect(phases.contains(.indexed) && phases.contains(.growing), "\(phases)")
            try await Self.check(db, model, expressions: 60, using: &rng)
        }
        try await withDatabase(dir) { db async throws in
            try await Self.check(db, model, expressions: 30, using: &rng)
        }
    }

    /// A filter that follows where the vectors lie: every record near the query fails it, so the
    /// lists nearest the query hold no passing row. Each query walks its lists past them, to the
    /// lists that hold passing rows, and gets k hits that pass.
    @Test func aFilterAwayFromTheQueryWalksToThePassingRows() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 11)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema(metric: .l2))
            var records: [Record] = []
            for i in 0..<1_024 {
                // Two far groups; "year" says which.
                let near = i % 2 == 0
                let vector = randomVector(Self.dimension, integer: true, using: &rng).map { $0 + (near ? 1_000 : -1_000) }
                records.append(Record(id: RecordID(UInt64(i)), vector: vector, fields: ["year": .int64(near ? 1 : 0)]))
            }
            _ = try await db.upsert("f", records)
            try await db.waitForBackgroundWork()
            let query = randomVector(Self.dimension, integer: true, using: &rng).map { $0 + 1_000 }
            let (hits, plan) = try await db.explainedSearch("f", queries: [query], k: 10, options: SearchOptions(nprobe: 1, filter: "year == 0"))
            #expect(plan.segments.contains { $0.strategy == .ivf }, "\(plan.segments)")
            #expect(plan.exactRetries == 0)
            #expect(hits[0].count == 10 && hits[0].allSatisfy { $0.id.rawValue % 2 == 1 }, "\(hits[0].map(\.id))")
            // `explain` counts the lists walked: past the planned nprobe, to the far group's lists.
            let walked = plan.segments.compactMap { segment in segment.listsWalked.map { (segment.nprobe ?? 0, $0) } }
            #expect(!walked.isEmpty && walked.allSatisfy { $0.1 > Double($0.0) }, "\(plan.segments)")
        }
    }

    /// When the lists a query probes hold fewer than k passing rows although k exist, the query is
    /// searched again exactly over the passing rows and gets the true nearest ones. (One list is
    /// forced: `gatherCost` infinity never reads the few passing rows one by one, and
    /// `nprobeFixed` probes the nprobe given without walking further.)
    @Test func kHitsComeBackWhenTheProbedListsHoldTooFewPassingRows() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 11)
        try await withDatabase(dir, planner: PlannerSettings(gatherCost: .infinity, nprobeFixed: true)) { db async throws in
            _ = try await db.createCollection(Self.schema(metric: .l2))
            var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
            var records: [Record] = []
            for i in 0..<1_024 {
                // 13 rows pass, spread over the lists like every other row.
                let passes = i % 85 == 0
                let vector = randomVector(Self.dimension, integer: true, using: &rng).map { $0 + 1_000 }
                records.append(Record(id: RecordID(UInt64(i)), vector: vector, fields: ["year": .int64(passes ? 0 : 1)]))
                if passes { oracle.upsert(RecordID(UInt64(i)), vector) }
            }
            _ = try await db.upsert("f", records)
            try await db.waitForBackgroundWork()
            let query = randomVector(Self.dimension, integer: true, using: &rng).map { $0 + 1_000 }
            let (hits, plan) = try await db.explainedSearch("f", queries: [query], k: 10, options: SearchOptions(nprobe: 1, filter: "year == 0"))
            #expect(plan.segments.contains { $0.strategy == .ivf }, "\(plan.segments)")
            #expect(plan.exactRetries == 1)
            #expect(hits[0].map(\.id) == oracle.search(query, k: 10).map(\.id))
        }
    }

    @Test func deleteByFilterRemovesExactlyTheMatchingRecords() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 7)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema(metric: .l2))
            var model = try await Self.fill(db, metric: .l2, using: &rng)
            try await db.waitForBackgroundWork()
            for text in ["year >= 1 and flag == true", "labels contains \"a\" or name like \"b%\"", "price is null"] {
                let filter = try FilterTestPredicate(text)
                let doomed = model.rows.filter { filter.matches($0.value) }.map(\.key)
                #expect(try await db.delete("f", filter: text) == doomed.count, "\(text)")
                for id in doomed {
                    model.rows.removeValue(forKey: id)
                    model.oracle.delete(id)
                }
                #expect(try await db.count("f", filter: text) == 0)
                #expect(try await db.count("f") == model.rows.count)
            }
            let survivors = try await db.query("f", filter: nil, limit: 100_000)
            #expect(survivors.map(\.id) == model.rows.keys.sorted())
            await #expect(throws: QuiverError.self) { try await db.delete("f", filter: "  ") }
            await #expect(throws: QuiverError.self) { try await db.count("f", filter: "year >") }
        }
    }
}

/// The library's own row evaluator, for tests that need a predicate for a fixed expression (the
/// generator's predicates are the oracle elsewhere; `Filter.matches` is held to them in
/// QuiverFilterTests).
struct FilterTestPredicate {
    let filter: QuiverFilter.Filter

    init(_ text: String) throws {
        filter = try QuiverFilter.Filter.parse(text, schema: FilteredSearchTests.schema(metric: .l2))
    }

    func matches(_ row: FilterGenerator.Row) -> Bool { filter.matches(row) }
}
