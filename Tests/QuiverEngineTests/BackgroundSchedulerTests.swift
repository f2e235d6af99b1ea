import Foundation
import QuiverCore
import QuiverTesting
import Testing

@testable import QuiverEngine

/// The background scheduler's own contract: the periodic check seals old growing segments as
/// tracked jobs, waiting for background work ends on the event, and nothing waits forever once
/// the database has closed.
@Suite struct BackgroundSchedulerTests {
    static func schema(sealAfterSeconds: Int = 600) -> CollectionSchema {
        CollectionSchema(
            name: "s", dimension: 4, metric: .l2,
            index: IndexSettings(nlist: 4, segmentRows: 10_000, sealAfterSeconds: sealAfterSeconds))
    }

    static func records(_ ids: Range<Int>) -> [Record] {
        ids.map { Record(id: RecordID(UInt64($0)), vector: [Float($0), Float($0 % 5), 1, -1]) }
    }

    /// A growing segment older than `sealAfterSeconds` is sealed by the once-a-second check and
    /// then indexed; `waitForBackgroundWork` afterwards returns with every segment indexed.
    @Test func theCheckSealsAnOldGrowingSegmentAndItGetsIndexed() async throws {
        let directory = TemporaryDirectory()
        try await withDatabase(directory) { db async throws in
            _ = try await db.createCollection(Self.schema(sealAfterSeconds: 1))
            _ = try await db.upsert("s", Self.records(0..<300))
            #expect(try db.describeCollection("s").segments.map(\.phase) == [.growing])
            try await waitUntil("the old growing segment to be sealed", timeout: .seconds(30), interval: .milliseconds(20)) {
                try db.describeCollection("s").segments.first?.phase != .growing
            }
            try await db.waitForBackgroundWork()
            let info = try db.describeCollection("s")
            #expect(info.segments.map(\.phase) == [.indexed] && !info.pending, "\(info.segments)")
            #expect(db.statistics.seals == 1 && db.statistics.indexBuilds == 1)
        }
    }

    /// After close: the commit queue refuses an op with `databaseClosed` at once (it used to
    /// leave the caller waiting forever when its drain could no longer run), the scheduler
    /// refuses jobs, and waiting for background work returns.
    @Test func afterCloseWorkIsRefusedAndNothingWaitsForever() async throws {
        let directory = TemporaryDirectory()
        let db = try await Database.open(path: directory.path, options: quietOptions())
        _ = try await db.createCollection(Self.schema())
        _ = try await db.upsert("s", Self.records(0..<10))
        let id = try db.collectionID("s")
        try await db.close()

        // (No collection object may outlive the close: it holds a storage snapshot. An op that
        // names none stands for any.)
        let commits = db.commits
        let outcome = try await withDeadline("an op submitted after close", timeout: .seconds(10)) {
            await commits.submit(.create(CollectionSchema(name: "late", dimension: 4, metric: .l2)))
        }
        guard case .failure(let error) = outcome else {
            Issue.record("an op after close was committed")
            return
        }
        #expect(error.reason == .databaseClosed)
        #expect(!db.background.schedule(.reclaim(id)))
        let background = db.background
        try await withDeadline("waiting for background work after close", timeout: .seconds(10)) {
            await background.waitUntilIdle()
        }
    }

    /// `waitForBackgroundWork` returns once the builds the seals queued have ended, however many
    /// there are, and no sooner: every segment is indexed when it returns.
    @Test func waitingForBackgroundWorkEndsWithTheLastBuild() async throws {
        let directory = TemporaryDirectory()
        try await withDatabase(directory) { db async throws in
            _ = try await db.createCollection(
                CollectionSchema(name: "s", dimension: 4, metric: .l2, index: IndexSettings(nlist: 4, segmentRows: 256)))
            for start in stride(from: 0, to: 2_048, by: 256) { _ = try await db.upsert("s", Self.records(start..<(start + 256))) }
            try await db.waitForBackgroundWork()
            let info = try db.describeCollection("s")
            #expect(!info.pending && info.segments.allSatisfy { $0.phase == .indexed || $0.phase == .growing }, "\(info.segments)")
            #expect(info.segments.filter { $0.phase == .indexed }.reduce(0) { $0 + $1.rows } == 2_048)
        }
    }
}
