import Foundation
import QuiverCore
import QuiverIndex
import QuiverStorage
import QuiverTesting
import Testing

@testable import QuiverEngine

/// Target recall and calibrations, against the brute-force oracle: target 1 is exact search, the
/// recall reached on queries the calibration never saw is near the target, a filter or a larger k
/// keeps the recall of the nprobe given, and every indexed segment carries a calibration of its
/// own lists across restarts, compactions and retraining.
@Suite struct RecallTargetTests {
    /// Indexed segments of a collection with their calibrations.
    static func calibrations(_ db: Database, _ name: String) throws -> [(id: SegmentID, nlist: Int, rows: Int, calibration: RecallCalibration?)] {
        try db.registry.require(name).view().segments.compactMap { segment in
            guard case .indexed(let rows) = segment.storage else { return nil }
            return (segment.id, rows.index.nlist, segment.count, rows.calibration)
        }
    }

    @Test func targetOneIsExactSearch() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 17)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(
                CollectionSchema(name: "t", dimension: 8, metric: .l2, index: IndexSettings(segmentRows: 512)))
            var oracle = BruteForceOracle(metric: .l2, dimension: 8)
            for batch in 0..<5 {
                let records = (0..<500).map { i in
                    Record(id: RecordID(UInt64(batch * 500 + i)), vector: randomVector(8, integer: true, using: &rng))
                }
                _ = try await db.upsert("t", records)
                records.forEach { oracle.upsert($0.id, $0.vector) }
            }
            try await db.seal("t")
            try await db.waitForBackgroundWork()
            #expect(try Self.calibrations(db, "t").count >= 4)
            let queries = (0..<20).map { _ in randomVector(8, integer: true, using: &rng) }
            for k in [10, 100] {
                let (results, plan) = try await db.explainedSearch(
                    "t", queries: queries, k: k, options: SearchOptions(recallTarget: 1))
                #expect(plan.recallTarget == 1)
                for segment in plan.segments where segment.strategy == .ivf { #expect(segment.nprobe == segment.nlist) }
                for (q, query) in queries.enumerated() {
                    let want = oracle.search(query, k: k)
                    #expect(results[q].map(\.id) == want.map(\.id), "k=\(k) q=\(q)")
                    #expect(results[q].map { Double($0.score) } == want.map(\.score), "k=\(k) q=\(q)")
                }
            }
        }
    }

    /// Queries drawn apart from the stored rows, clustered data over several indexed segments.
    @Test func recallOnUnseenQueriesIsNearTheTargetWithAndWithoutFilters() async throws {
        let dir = TemporaryDirectory()
        let dimension = 16
        let dataset = ClusteredDataset(dimension: dimension, clusters: 40, spread: 0.5, seed: 5)
        let count = 6_000
        let vectors = dataset.points(count: count, stream: 0)
        let queryVectors = dataset.points(count: 60, stream: 1)
        let queries = stride(from: 0, to: queryVectors.count, by: dimension).map { Array(queryVectors[$0..<($0 + dimension)]) }
        var rng = SeededRandom(seed: 9)
        let flags = (0..<count).map { _ in Int.random(in: 0..<10, using: &rng) < 3 }
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(
                CollectionSchema(
                    name: "r", dimension: dimension, metric: .l2, fields: [FieldSchema(name: "flag", type: .bool)],
                    index: IndexSettings(nlist: 64, segmentRows: 2_048)))
            var all = BruteForceOracle(metric: .l2, dimension: dimension)
            var flagged = BruteForceOracle(metric: .l2, dimension: dimension)
            let records = (0..<count).map { i in
                Record(
                    id: RecordID(UInt64(i)), vector: Array(vectors[(i * dimension)..<((i + 1) * dimension)]),
                    fields: ["flag": .bool(flags[i])])
            }
            for chunk in stride(from: 0, to: count, by: 1_000) { _ = try await db.upsert("r", Array(records[chunk..<(chunk + 1_000)])) }
            for record in records {
                all.upsert(record.id, record.vector)
                if case .bool(true) = record.fields["flag"] { flagged.upsert(record.id, record.vector) }
            }
            try await db.seal("r")
            try await db.waitForBackgroundWork()
            #expect(try Self.calibrations(db, "r").count == 3)

            func recall(k: Int, _ options: SearchOptions) async throws -> Double {
                let oracle = options.filter == nil ? all : flagged
                let results = try await db.search("r", queries: queries, k: k, options: options)
                var found = 0
                for (query, hits) in zip(queries, results) {
                    let truth = Set(oracle.search(query, k: k).map(\.id))
                    found += hits.filter { truth.contains($0.id) }.count
                }
                return Double(found) / Double(queries.count * k)
            }
            // Targets: reached within sampling error on queries the calibration never saw.
            for target in [0.8, 0.9] {
                for k in [10, 100] {
                    let unfiltered = try await recall(k: k, SearchOptions(recallTarget: target))
                    let filtered = try await recall(k: k, SearchOptions(recallTarget: target, filter: "flag == true"))
                    #expect(unfiltered >= target - 0.03, "target \(target) k \(k): \(unfiltered)")
                    #expect(filtered >= target - 0.03, "target \(target) k \(k) filtered: \(filtered)")
                }
            }
            // An nprobe given: a filter and k = 100 keep the recall of the unfiltered k = 10 search.
            for nprobe in [1, 3] {
                let reference = try await recall(k: 10, SearchOptions(nprobe: nprobe))
                let deeper = try await recall(k: 100, SearchOptions(nprobe: nprobe))
                let filtered = try await recall(k: 10, SearchOptions(nprobe: nprobe, filter: "flag == true"))
                #expect(deeper >= reference - 0.03, "nprobe \(nprobe): k=100 \(deeper) against k=10 \(reference)")
                #expect(filtered >= reference - 0.03, "nprobe \(nprobe): filtered \(filtered) against \(reference)")
            }
        }
    }

    @Test func everyIndexedSegmentKeepsItsOwnCalibration() async throws {
        let dir = TemporaryDirectory()
        let dataset = ClusteredDataset(dimension: 8, clusters: 20, seed: 3)
        var before: [SegmentID: RecallCalibration] = [:]
        try await withDatabase(dir) { db async throws in
            // 256-row segments with nlist chosen from the data: the template trained on the first
            // segment (nlist 16) is retrained once the collection holds 16 times its rows.
            _ = try await db.createCollection(CollectionSchema(name: "c", dimension: 8, metric: .l2, index: IndexSettings(segmentRows: 256)))
            let points = dataset.points(count: 256 * 18, stream: 0)
            for batch in 0..<18 {
                let records = (0..<256).map { i in
                    let row = batch * 256 + i
                    return Record(id: RecordID(UInt64(row)), vector: Array(points[(row * 8)..<((row + 1) * 8)]))
                }
                _ = try await db.upsert("c", records)
                try await db.waitForBackgroundWork()
            }
            try await db.seal("c")
            try await db.waitForBackgroundWork()
            let segments = try Self.calibrations(db, "c")
            #expect(Set(segments.map(\.nlist)).count >= 2, "no retraining: \(segments.map(\.nlist))")
            for segment in segments {
                let calibration = try #require(segment.calibration, "segment \(segment.id) has no calibration")
                #expect(calibration.nlist == segment.nlist)
                #expect(calibration.queries == min(RecallCalibration.sampleQueriesDefault, segment.rows))
                #expect(calibration.recall.allSatisfy { $0.last! == 10_000 }, "every list probed finds every neighbour")
                before[segment.id] = calibration
            }
        }
        try await withDatabase(dir) { db async throws in
            let reopened = try Self.calibrations(db, "c")
            #expect(reopened.count == before.count)
            for segment in reopened { #expect(segment.calibration == before[segment.id], "segment \(segment.id) after restart") }
            // Compaction rewrites every segment with a deleted row into new segments, each
            // measured anew.
            _ = try await db.delete("c", ids: (0..<18).map { RecordID(UInt64($0 * 256)) })
            try await db.compact("c")
            try await db.waitForBackgroundWork()
            let compacted = try Self.calibrations(db, "c")
            #expect(!compacted.isEmpty && compacted.allSatisfy { before[$0.id] == nil }, "compaction kept a segment")
            for segment in compacted {
                let calibration = try #require(segment.calibration, "compacted segment \(segment.id) has no calibration")
                #expect(calibration.nlist == segment.nlist)
                #expect(calibration.queries == min(RecallCalibration.sampleQueriesDefault, segment.rows))
            }
        }
    }

    /// A data directory written before calibrations existed: its indexed segments are rebuilt in
    /// the background after open, each with a calibration, and searches keep every record.
    @Test func segmentsWithoutACalibrationAreCalibratedAfterOpen() async throws {
        let dir = TemporaryDirectory()
        let dataset = ClusteredDataset(dimension: 8, clusters: 20, seed: 5)
        let points = dataset.points(count: 1_024, stream: 0)
        var oracle = BruteForceOracle(metric: .l2, dimension: 8)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(CollectionSchema(name: "c", dimension: 8, metric: .l2, index: IndexSettings(segmentRows: 512)))
            let records = (0..<1_024).map { i in Record(id: RecordID(UInt64(i)), vector: Array(points[(i * 8)..<((i + 1) * 8)])) }
            for record in records { oracle.upsert(record.id, record.vector) }
            _ = try await db.upsert("c", records)
            try await db.waitForBackgroundWork()
            #expect(try Self.calibrations(db, "c").count == 2)
        }
        // What an older version wrote: the same manifest records without calibrations.
        let store = try Store.open(path: dir.path)
        let collection = try #require(try store.loadCatalog().collections.first)
        let batch = store.makeBatch()
        let stripped = try store.loadSegmentManifest(of: collection.id).segments
        for var record in stripped {
            record.calibration = nil
            try batch.putSegment(collection.id, record)
        }
        try store.commit(batch, sync: true)
        #expect(store.close() == nil)
        try await withDatabase(dir) { db async throws in
            try await waitUntil("every indexed segment has a calibration", timeout: .seconds(60)) {
                let segments = try Self.calibrations(db, "c")
                return segments.count == 2 && segments.allSatisfy { $0.calibration != nil }
            }
            #expect(Set(try Self.calibrations(db, "c").map(\.id)).isDisjoint(with: stripped.map(\.id)), "rebuilt as new segments")
            let query = Array(points[0..<8])
            let hits = try await db.search("c", queries: [query], k: 10, options: SearchOptions(recallTarget: 1))
            #expect(hits[0].map(\.id) == oracle.search(query, k: 10).map(\.id))
            #expect(try db.describeCollection("c").rows == 1_024)
        }
    }
}
