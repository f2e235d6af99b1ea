import Foundation
import QuiverCore
@testable import QuiverEngine
import QuiverStorage
import QuiverTesting
import Synchronization
import Testing

/// Segments: sealing, background IVF builds, search across segments, restart without retraining,
/// corrupt index files, compaction. Small segments and small integer vectors, so that IVF with
/// Flat codes at nprobe = nlist is exact — ties included — and every result can be compared with
/// the brute-force oracle exactly.
@Suite struct SegmentTests {
    static let dimension = 8
    static let nlist = 8

    static func schema(_ name: String = "s", codes: IVFCodes = .flat, metric: Metric = .l2, segmentRows: Int = 512) -> CollectionSchema {
        CollectionSchema(
            name: name, dimension: dimension, metric: metric, fields: [FieldSchema(name: "n", type: .int64)],
            index: IndexSettings(codes: codes, nlist: nlist, segmentRows: segmentRows))
    }

    static func vector(using rng: inout SeededRandom) -> [Float] {
        randomVector(dimension, integer: true, using: &rng)
    }

    /// Upserts `count` new records with ids from `start`, in batches, into the collection and the oracle.
    static func fill(
        _ db: Database, _ name: String, oracle: inout BruteForceOracle, start: UInt64, count: Int, batch: Int = 200,
        using rng: inout SeededRandom
    ) async throws {
        var id = start
        while id < start + UInt64(count) {
            let records = (0..<min(batch, Int(start + UInt64(count) - id))).map { i -> Record in
                Record(id: RecordID(id + UInt64(i)), vector: vector(using: &rng), fields: ["n": .int64(Int64(id) + Int64(i))])
            }
            _ = try await db.upsert(name, records)
            records.forEach { oracle.upsert($0.id, $0.vector) }
            id += UInt64(records.count)
        }
    }

    static func phases(_ db: Database, _ name: String) throws -> [SegmentPhase] {
        try db.describeCollection(name).segments.map(\.phase)
    }

    @Test func sealedSegmentsAreIndexedAndSearchedExactlyAtFullProbe() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 21)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema())
            var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
            // 2,200 rows at 512 per segment: four sealed segments and a growing one.
            try await Self.fill(db, "s", oracle: &oracle, start: 0, count: 2_200, using: &rng)
            try await db.waitForBackgroundWork()
            #expect(try Self.phases(db, "s") == [.indexed, .indexed, .indexed, .indexed, .growing])
            #expect(db.statistics.templateTrainings == 1 && db.statistics.indexBuilds == 4)
            let info = try db.describeCollection("s")
            #expect(info.rows == 2_200 && !info.pending && info.nlist == Self.nlist)

            // Deletes and replacements reach rows in indexed segments too.
            let deleted = (0..<300).map { _ in RecordID(UInt64.random(in: 0..<2_200, using: &rng)) }
            _ = try await db.delete("s", ids: deleted)
            deleted.forEach { oracle.delete($0) }
            let replaced = (0..<100).map { _ in Record(id: RecordID(UInt64.random(in: 0..<2_200, using: &rng)), vector: Self.vector(using: &rng)) }
            _ = try await db.upsert("s", Array(Dictionary(replaced.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }).values))
            for record in Dictionary(replaced.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }).values { oracle.upsert(record.id, record.vector) }

            for (nq, k) in [(1, 10), (7, 30), (30, 5), (3, 3_000)] {
                let queries = (0..<nq).map { _ in Self.vector(using: &rng) }
                let results = try await db.search("s", queries: queries, k: k, options: SearchOptions(nprobe: Self.nlist))
                for (q, hits) in results.enumerated() {
                    let want = oracle.search(queries[q], k: k)
                    #expect(hits.map(\.id) == want.map(\.id), "nq=\(nq) k=\(k) q=\(q)")
                    #expect(hits.map { Double($0.score) } == want.map(\.score))
                }
            }
            // Fewer probes: still only live rows, still k of them.
            let partial = try await db.search("s", queries: [Self.vector(using: &rng)], k: 20, options: SearchOptions(nprobe: 1))
            #expect(partial[0].count == 20 && partial[0].allSatisfy { oracle.vectors[$0.id] != nil })

            // Vectors and fields of rows in indexed segments come from storage, bit for bit.
            let ids = Array(oracle.vectors.keys.sorted().prefix(50))
            let stored = try await db.get("s", ids: ids)
            for (id, record) in zip(ids, stored) { #expect(record?.vector == oracle.vectors[id]) }
            let withVectors = try await db.search(
                "s", queries: [oracle.vectors[ids[0]]!], k: 1, options: SearchOptions(includeVectors: true, fields: .all, nprobe: 8))
            #expect(withVectors[0][0].vector == oracle.vectors[withVectors[0][0].id])
        }
    }

    @Test(arguments: [IVFCodes.sq8, .pq(m: 4)])
    func quantizedSegmentsFindStoredVectors(codes: IVFCodes) async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 22)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema(codes: codes))
            let data = ClusteredDataset(dimension: Self.dimension, clusters: 12, seed: 5)
            let vectors = data.points(count: 1_600, stream: 0)
            let records = (0..<1_600).map { (i: Int) -> Record in
                let start = i * Self.dimension
                return Record(id: RecordID(UInt64(i)), vector: Array(vectors[start..<(start + Self.dimension)]))
            }
            for start in stride(from: 0, to: 1_600, by: 400) { _ = try await db.upsert("s", Array(records[start..<(start + 400)])) }
            try await db.waitForBackgroundWork()
            #expect(try Self.phases(db, "s").filter { $0 == .indexed }.count == 3)
            // A stored vector finds itself among its top hits in almost every case.
            let sample = (0..<60).map { _ in Int.random(in: 0..<1_536, using: &rng) }
            let results = try await db.search("s", queries: sample.map { records[$0].vector }, k: 5, options: SearchOptions(nprobe: Self.nlist))
            let found = zip(sample, results).filter { id, hits in hits.contains { $0.id == RecordID(UInt64(id)) } }.count
            #expect(found >= 54, "\(codes): \(found) of 60")
        }
    }

    /// After each acknowledged upsert, a search for the new vector finds it first — while segments
    /// are sealed, built and compacted in the background.
    @Test func everyAcknowledgedWriteIsTheTopHitAtOnce() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 23)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema(segmentRows: 256))
            var live: [RecordID] = []
            var next: UInt64 = 0
            for round in 0..<30 {
                // Distinct float vectors: each is its own unique nearest neighbour.
                let records = (0..<60).map { i in
                    Record(id: RecordID(next + UInt64(i)), vector: (0..<Self.dimension).map { _ in Float.random(in: -100...100, using: &rng) })
                }
                next += 60
                _ = try await db.upsert("s", records)
                live += records.map(\.id)
                let hits = try await db.search("s", queries: records.map(\.vector), k: 1)
                for (record, top) in zip(records, hits) {
                    // 60 queries take the sgemm path, whose distance expansion rounds: ~0, not 0.
                    #expect(top.first?.id == record.id && (top.first?.score ?? 1) < 0.5, "round \(round) id \(record.id)")
                }
                // Deletes that push indexed segments past the compaction threshold.
                if round % 4 == 3 {
                    let victims = live.shuffled(using: &rng).prefix(90)
                    _ = try await db.delete("s", ids: Array(victims))
                    live.removeAll { victims.contains($0) }
                }
            }
            try await db.waitForBackgroundWork()
            #expect(db.statistics.indexBuilds > 3 && db.statistics.compactions > 0, "\(db.statistics)")
            #expect(try db.describeCollection("s").rows == live.count)
        }
    }

    /// Writers, deleters, searchers, seals and compactions at once. Every search must equal the
    /// oracle at some state committed while it ran (nprobe = nlist, Flat codes: exact).
    @Test func concurrentWritesSearchesSealsAndCompactionsStayExact() async throws {
        let dir = TemporaryDirectory()
        let seed = UInt64.random(in: 1...1_000_000)
        print("segment concurrency seed \(seed)")
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema(segmentRows: 300))
            // The writer applies ops in order and publishes the version after each acknowledgement;
            // a search notes the versions before and after it ran.
            let shared = SharedRun()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var rng = SeededRandom(seed: seed)
                    for op in 0..<60 {
                        var changes: [(RecordID, [Float]?)] = []
                        if op % 3 == 2 {
                            let ids = Set((0..<40).map { _ in RecordID(UInt64.random(in: 0..<1_500, using: &rng)) })
                            _ = try await db.delete("s", ids: Array(ids))
                            changes = ids.map { ($0, nil) }
                        } else {
                            var ids = Set<UInt64>()
                            while ids.count < 80 { ids.insert(UInt64.random(in: 0..<1_500, using: &rng)) }
                            let records = ids.map { Record(id: RecordID($0), vector: Self.vector(using: &rng)) }
                            _ = try await db.upsert("s", records)
                            changes = records.map { ($0.id, $0.vector) }
                        }
                        shared.log.withLock { $0.append(changes) }
                        shared.version.store(op + 1, ordering: .sequentiallyConsistent)
                    }
                    shared.done.store(true, ordering: .sequentiallyConsistent)
                }
                for searcher in 0..<2 {
                    group.addTask {
                        var rng = SeededRandom(seed: seed &+ UInt64(searcher) &+ 100)
                        while !shared.done.load(ordering: .sequentiallyConsistent) {
                            let query = Self.vector(using: &rng)
                            let before = shared.version.load(ordering: .sequentiallyConsistent)
                            let hits = try await db.search("s", queries: [query], k: 15, options: SearchOptions(nprobe: Self.nlist))
                            let after = shared.version.load(ordering: .sequentiallyConsistent)
                            shared.observations.withLock { $0.append((query, before, after, hits[0].map(\.id))) }
                        }
                    }
                }
                group.addTask {
                    while !shared.done.load(ordering: .sequentiallyConsistent) {
                        try await db.seal("s")
                        try await db.compact("s")
                        try await Task.sleep(for: .milliseconds(15))
                    }
                }
                try await group.waitForAll()
            }
            try await db.waitForBackgroundWork()

            // Oracle states after each version.
            let ops = shared.log.withLock { $0 }
            var states: [BruteForceOracle] = []
            var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
            states.append(oracle)
            for changes in ops {
                for (id, vector) in changes {
                    if let vector { oracle.upsert(id, vector) } else { oracle.delete(id) }
                }
                states.append(oracle)
            }
            let seen = shared.observations.withLock { $0 }
            #expect(seen.count > 20, "only \(seen.count) searches ran")
            for (i, observation) in seen.enumerated() {
                // The write acknowledged just before `before` may still be publishing: allow one back.
                let candidates = max(0, observation.before - 1)...min(states.count - 1, observation.after + 1)
                let matched = candidates.contains { states[$0].search(observation.query, k: 15).map(\.id) == observation.ids }
                #expect(matched, "seed \(seed): search \(i) (versions \(observation.before)–\(observation.after)) matches no state")
            }
            // And at rest, after every build and compaction.
            var rng = SeededRandom(seed: seed &+ 7)
            for _ in 0..<20 {
                let query = Self.vector(using: &rng)
                let hits = try await db.search("s", queries: [query], k: 25, options: SearchOptions(nprobe: Self.nlist))
                #expect(hits[0].map(\.id) == oracle.search(query, k: 25).map(\.id), "seed \(seed)")
            }
            print("segment concurrency: \(seen.count) searches, \(db.statistics)")
        }
    }

    @Test func restartLoadsIndexesWithoutRetraining() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 24)
        var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema())
            try await Self.fill(db, "s", oracle: &oracle, start: 0, count: 1_800, using: &rng)
            try await db.waitForBackgroundWork()
            _ = try await db.delete("s", ids: (0..<50).map { RecordID(UInt64($0 * 3)) })
            (0..<50).forEach { oracle.delete(RecordID(UInt64($0 * 3))) }
            #expect(try Self.phases(db, "s") == [.indexed, .indexed, .indexed, .growing])
        }
        let queries = (0..<10).map { _ in Self.vector(using: &rng) }
        try await withDatabase(dir) { db async throws in
            try await db.waitForBackgroundWork()
            #expect(db.statistics.indexBuilds == 0 && db.statistics.templateTrainings == 0, "\(db.statistics)")
            #expect(try Self.phases(db, "s") == [.indexed, .indexed, .indexed, .growing])
            #expect(try db.describeCollection("s").rows == oracle.count)
            let results = try await db.search("s", queries: queries, k: 20, options: SearchOptions(nprobe: Self.nlist))
            for (q, hits) in results.enumerated() { #expect(hits.map(\.id) == oracle.search(queries[q], k: 20).map(\.id)) }
        }
    }

    /// A collection that outgrows its template (automatic nlist) trains a second one for new
    /// segments without rebuilding the old ones, and searches both generations into one exact
    /// top-k, before and after a restart.
    @Test func outgrowingTheTemplateRetrainsForNewSegmentsOnly() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 28)
        var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        let schema = CollectionSchema(
            name: "g", dimension: Self.dimension, metric: .l2, fields: [FieldSchema(name: "n", type: .int64)],
            index: IndexSettings(codes: .flat, segmentRows: 256))
        let queries = (0..<12).map { _ in Self.vector(using: &rng) }
        func check(_ db: Database) async throws {
            let results = try await db.search("g", queries: queries, k: 25, options: SearchOptions(nprobe: IndexSettings.nprobeRange.upperBound))
            for (q, hits) in results.enumerated() {
                let want = oracle.search(queries[q], k: 25)
                #expect(hits.map(\.id) == want.map(\.id), "q=\(q)")
                #expect(hits.map { Double($0.score) } == want.map(\.score))
            }
        }
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(schema)
            try await Self.fill(db, "g", oracle: &oracle, start: 0, count: 256, batch: 256, using: &rng)
            try await db.waitForBackgroundWork()
            let first = try db.describeCollection("g")
            #expect(first.nlist == IndexSettings.nlist(forRows: 256) && db.statistics.templateTrainings == 1)
            // 16 × 256 rows later the automatic nlist has grown: the next build retrains.
            try await Self.fill(db, "g", oracle: &oracle, start: 256, count: 4_352, batch: 256, using: &rng)
            try await db.waitForBackgroundWork()
            let info = try db.describeCollection("g")
            let indexed = info.segments.filter { $0.phase == .indexed }
            #expect(db.statistics.templateTrainings == 2, "\(db.statistics)")
            #expect(db.statistics.indexBuilds == indexed.count && db.statistics.compactions == 0, "\(db.statistics)")
            #expect(Set(indexed.compactMap(\.nlist)).count == 2, "\(indexed.map(\.nlist))")
            #expect(info.nlist! > first.nlist!)
            try await check(db)
        }
        try await withDatabase(dir) { db async throws in
            try await db.waitForBackgroundWork()
            #expect(db.statistics.indexBuilds == 0 && db.statistics.templateTrainings == 0, "\(db.statistics)")
            try await check(db)
        }
    }

    @Test(arguments: ["corrupt", "missing"])
    func aBrokenIndexFileIsServedExactlyAndRebuilt(damage: String) async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 25)
        var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        var file = ""
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema())
            try await Self.fill(db, "s", oracle: &oracle, start: 0, count: 1_200, using: &rng)
            try await db.waitForBackgroundWork()
            _ = try await db.delete("s", ids: [5, 6, 7])
            [5, 6, 7].forEach { oracle.delete(RecordID($0)) }
            file = db.store.directory.segmentsPath(of: try db.collectionID("s")) + "/0.ivf"
        }
        if damage == "missing" {
            try FileManager.default.removeItem(atPath: file)
        } else {
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            bytes[bytes.count / 2] ^= 0x5A
            try Data(bytes).write(to: URL(fileURLWithPath: file))
        }
        let queries = (0..<10).map { _ in Self.vector(using: &rng) }
        let dbOptions = quietOptions()
        let db = try await Database.open(path: dir.path, options: dbOptions)
        // Served right away, exactly, from storage: the segment is sealed again, not indexed.
        let firstPhase = try Self.phases(db, "s").first
        #expect(firstPhase == .sealed || firstPhase == .indexing || firstPhase == .indexed)
        let early = try await db.search("s", queries: queries, k: 20, options: SearchOptions(nprobe: Self.nlist))
        for (q, hits) in early.enumerated() { #expect(hits.map(\.id) == oracle.search(queries[q], k: 20).map(\.id)) }
        try await db.waitForBackgroundWork()
        #expect(db.statistics.indexBuilds == 1 && db.statistics.templateTrainings == 0, "\(db.statistics)")
        #expect(try Self.phases(db, "s") == [.indexed, .indexed, .growing])
        let late = try await db.search("s", queries: queries, k: 20, options: SearchOptions(nprobe: Self.nlist))
        for (q, hits) in late.enumerated() { #expect(hits.map(\.id) == oracle.search(queries[q], k: 20).map(\.id)) }
        try await db.close()
        // The rebuilt file verifies on the next open.
        try await withDatabase(dir) { db async throws in
            try await db.waitForBackgroundWork()
            #expect(db.statistics.indexBuilds == 0)
        }
    }

    @Test func compactionDropsTombstonesAndMergesSmallSegments() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 26)
        var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema())
            try await Self.fill(db, "s", oracle: &oracle, start: 0, count: 2_048, using: &rng)
            try await db.waitForBackgroundWork()
            #expect(try Self.phases(db, "s") == [.indexed, .indexed, .indexed, .indexed])
            let directory = db.store.directory.segmentsPath(of: try db.collectionID("s"))
            // Delete 60% of the first two segments' rows: both fall below half a segment.
            let victims = (0..<1_024).filter { $0 % 5 < 3 }.map { RecordID(UInt64($0)) }
            _ = try await db.delete("s", ids: victims)
            victims.forEach { oracle.delete($0) }
            // A search that started before the compaction still holds its inputs: reported as
            // dropped until it lets go.
            var held: CollectionView? = try db.registry.require("s").view()
            try await db.compact("s")
            try await db.waitForBackgroundWork()
            let whileHeld = try db.describeCollection("s").segments.filter { $0.phase == .dropped }
            #expect(whileHeld.map(\.id.rawValue).sorted() == [0, 1] && whileHeld.allSatisfy { $0.memoryBytes > 0 }, "\(whileHeld)")
            #expect(held?.segments.count == 4)
            held = nil
            let info = try db.describeCollection("s")
            #expect(info.segments.map(\.id.rawValue).sorted() == [2, 3, 4], "\(info.segments)")
            #expect(info.segments.allSatisfy { $0.phase == .indexed && $0.deletedRows == 0 })
            #expect(info.rows == oracle.count && db.statistics.compactions >= 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["2.ivf", "3.ivf", "4.ivf"])
            let queries = (0..<10).map { _ in Self.vector(using: &rng) }
            let results = try await db.search("s", queries: queries, k: 30, options: SearchOptions(nprobe: Self.nlist))
            for (q, hits) in results.enumerated() { #expect(hits.map(\.id) == oracle.search(queries[q], k: 30).map(\.id)) }
        }
        // The compacted state is what the next open sees.
        try await withDatabase(dir) { db async throws in
            #expect(try db.describeCollection("s").segments.map(\.id.rawValue) == [2, 3, 4])
            #expect(try db.describeCollection("s").rows == oracle.count)
        }
    }

    /// The offline import's mode (bulk-load memtables, deferred builds, no RocksDB background
    /// work): nothing is indexed until asked; the row families are flushed before the builds
    /// start, because compaction reads rows and a read from a bulk-load memtable sorts a copy of
    /// it (a re-import of 20,000 rows took 4 minutes to compact before that flush); replaced rows
    /// are compacted away, searches are exact, and a normal open sees the same rows.
    @Test func aBulkLoadFlushesItsRowsBeforeTheDeferredBuilds() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 28)
        var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        var options = quietOptions(sync: .none)
        options.backgroundWork = false
        options.deferIndexing = true
        options.bulkLoad = true
        let db = try await Database.open(path: dir.path, options: options)
        do {
            _ = try await db.createCollection(Self.schema())
            try await Self.fill(db, "s", oracle: &oracle, start: 0, count: 1_536, using: &rng)
            // Loaded again: every row of the first two segments replaced.
            try await Self.fill(db, "s", oracle: &oracle, start: 0, count: 1_024, using: &rng)
            try await db.seal("s")
            #expect(try Self.phases(db, "s") == Array(repeating: .sealed, count: 5))
            #expect(db.store.unflushedRowEntries > 0)

            try await db.indexDeferredSegments()
            try await db.waitForBackgroundWork()
            #expect(db.store.unflushedRowEntries == 0)
            let info = try db.describeCollection("s")
            #expect(info.segments.allSatisfy { $0.phase == .indexed && $0.deletedRows == 0 }, "\(info.segments)")
            #expect(info.rows == oracle.count && db.statistics.compactions >= 1 && db.statistics.maintenanceFailures == 0)
            let queries = (0..<10).map { _ in Self.vector(using: &rng) }
            let results = try await db.search("s", queries: queries, k: 30, options: SearchOptions(nprobe: Self.nlist))
            for (q, hits) in results.enumerated() { #expect(hits.map(\.id) == oracle.search(queries[q], k: 30).map(\.id)) }
            try await db.close()
        } catch {
            try? await db.close()
            throw error
        }
        try await withDatabase(dir) { db async throws in
            #expect(try db.storedEntries("s") == (vectors: oracle.count, attrs: oracle.count))
            let queries = (0..<10).map { _ in Self.vector(using: &rng) }
            let results = try await db.search("s", queries: queries, k: 30, options: SearchOptions(nprobe: Self.nlist))
            for (q, hits) in results.enumerated() { #expect(hits.map(\.id) == oracle.search(queries[q], k: 30).map(\.id)) }
        }
    }

    @Test func droppingACollectionRemovesItsIndexFiles() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 27)
        var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema())
            try await Self.fill(db, "s", oracle: &oracle, start: 0, count: 1_100, using: &rng)
            try await db.waitForBackgroundWork()
            let directory = db.store.directory.segmentsPath(of: try db.collectionID("s"))
            #expect(FileManager.default.fileExists(atPath: directory + "/0.ivf"))
            try await db.dropCollection("s")
            try await db.waitForBackgroundWork()
            #expect(!FileManager.default.fileExists(atPath: directory))
        }
    }

    /// The index files of a dropped collection are removed in the background after the drop's
    /// commit; a process killed in between left them for good. Open now removes every directory
    /// under `segments/` that no live collection owns, and keeps the live ones' files.
    @Test func indexFilesOfADroppedCollectionAreRemovedAtOpen() async throws {
        let dir = TemporaryDirectory()
        var rng = SeededRandom(seed: 28)
        var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
        var live = ""
        var orphan = ""
        try await withDatabase(dir) { db async throws in
            _ = try await db.createCollection(Self.schema())
            try await Self.fill(db, "s", oracle: &oracle, start: 0, count: 1_100, using: &rng)
            try await db.waitForBackgroundWork()
            live = db.store.directory.segmentsPath(of: try db.collectionID("s"))
            // What a kill between a drop's commit and its reclaim leaves: the files of a
            // collection id the catalog does not hold.
            orphan = db.store.directory.segmentsPath(of: CollectionID(try db.collectionID("s").rawValue + 5))
            try FileManager.default.copyItem(atPath: live, toPath: orphan)
        }
        #expect(FileManager.default.fileExists(atPath: orphan + "/0.ivf"))
        try await withDatabase(dir) { db async throws in
            #expect(!FileManager.default.fileExists(atPath: orphan))
            #expect(FileManager.default.fileExists(atPath: live + "/0.ivf"))
            let query = Self.vector(using: &rng)
            let hits = try await db.search("s", queries: [query], k: 10, options: SearchOptions(nprobe: Self.nlist))
            #expect(hits[0].map(\.id) == oracle.search(query, k: 10).map(\.id))
        }
    }
}

/// State shared by the tasks of the concurrency test.
private final class SharedRun: Sendable {
    /// The changes of each acknowledged op, in order.
    let log = Mutex<[[(RecordID, [Float]?)]]>([])
    /// Ops acknowledged so far.
    let version = Atomic<Int>(0)
    let done = Atomic<Bool>(false)
    let observations = Mutex<[(query: [Float], before: Int, after: Int, ids: [RecordID])]>([])
}
