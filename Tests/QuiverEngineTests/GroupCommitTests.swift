import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Testing

/// The write path under concurrency and each sync policy.
@Suite struct GroupCommitTests {
    static func concurrentWriters(_ db: Database, writers: Int, batches: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for b in 0..<batches {
                        let id = UInt64(w * 1_000 + b)
                        _ = try await db.upsert("g", [Record(id: RecordID(id), vector: [Float(w), Float(b)])])
                        // Read-your-writes: visible as soon as acknowledged.
                        #expect(try await db.get("g", ids: [RecordID(id)])[0]?.vector == [Float(w), Float(b)])
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test(arguments: ["always", "batch:3ms", "none"])
    func concurrentWritersAreAllDurableAndVisible(policy: String) async throws {
        let sync = try #require(SyncPolicy(parsing: policy))
        let dir = TemporaryDirectory()
        let (groups, syncs) = try await withDatabase(dir, sync: sync) { db async throws in
            _ = try await db.createCollection(CollectionSchema(name: "g", dimension: 2, metric: .l2))
            try await Self.concurrentWriters(db, writers: 8, batches: 25)
            #expect(try db.describeCollection("g").rows == 200)
            let stats = db.statistics
            #expect(stats.committedOps == 201)
            return (stats.commitGroups, stats.walSyncs)
        }
        switch sync {
        case .always:
            #expect(syncs == groups)
        case .batch:
            #expect(syncs == groups)
            // Eight writers and a 3 ms window: most groups carry several writers.
            #expect(groups < 150, "groups=\(groups)")
        case .none:
            // Only the catalog change (the create) was fsynced.
            #expect(syncs == 1)
        }
        try await withDatabase(dir) { db async throws in
            #expect(try db.describeCollection("g").rows == 200)
        }
    }
}
