import Foundation
import QuiverCore
@testable import QuiverEngine
import QuiverTesting
import Synchronization
import Testing

/// Backup while writes, seals, builds and compactions run; restore verifies and yields a
/// database equal to the source at one instant.
@Suite struct BackupTests {
    static let dimension = 8
    static let batch = 50

    static func schema() -> CollectionSchema {
        CollectionSchema(
            name: "b", dimension: dimension, metric: .l2, fields: [FieldSchema(name: "n", type: .int64)],
            index: IndexSettings(codes: .flat, nlist: 8, segmentRows: 256))
    }

    /// The vector of record `id`, the same every time.
    static func vector(_ id: UInt64) -> [Float] {
        var rng = SeededRandom(seed: id &+ 1)
        return randomVector(dimension, integer: true, using: &rng)
    }

    static func records(batch b: Int) -> [Record] {
        (0..<batch).map { i in
            let id = UInt64(b * batch + i)
            return Record(id: RecordID(id), vector: vector(id), fields: ["n": .int64(Int64(id))])
        }
    }

    @Test func backupDuringWritesRestoresToOneInstant() async throws {
        let source = TemporaryDirectory()
        let backups = TemporaryDirectory()
        final class Progress: Sendable {
            let acked = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
        }
        let progress = Progress()
        var before = 0
        var after = 0
        try await withDatabase(source) { db async throws in
            _ = try await db.createCollection(Self.schema())
            for b in 0..<10 { _ = try await db.upsert("b", Self.records(batch: b)) }
            // At least one indexed segment before the backup, however slow the machine is (under
            // load its builds once lagged the 300 ms below, and the backup held no index file).
            try await db.waitForBackgroundWork()
            progress.acked.store(10, ordering: .relaxed)
            // One writer, batch after batch; deletes and forced compactions rewrite index files.
            let writer = Task {
                var b = 10
                while !progress.stop.load(ordering: .relaxed) {
                    _ = try await db.upsert("b", Self.records(batch: b))
                    if b % 7 == 0 { _ = try await db.delete("b", ids: [RecordID(UInt64((b - 10) * Self.batch))]) }
                    if b % 5 == 0 { try await db.compact("b") }
                    b += 1
                    progress.acked.store(b, ordering: .relaxed)
                }
            }
            // The backup starts while the writer is under way, and the writer goes on after it.
            try await waitUntil("three batches written before the backup") { progress.acked.load(ordering: .relaxed) >= 13 }
            // A backup of this small database can end before the writer acknowledges its next
            // batch when the machine is loaded (the writer waits on its compactions): up to
            // five attempts, until one overlaps a write.
            var summary = BackupSummary(path: "", collections: 0, rows: nil, segmentFiles: 0, bytes: 0)
            for attempt in 0..<5 {
                before = progress.acked.load(ordering: .relaxed)
                try? FileManager.default.removeItem(atPath: backups.child("one"))
                summary = try await db.backup(to: backups.child("one"))
                after = progress.acked.load(ordering: .relaxed)
                if after > before || attempt == 4 { break }
            }
            try await waitUntil("three batches written after the backup") { progress.acked.load(ordering: .relaxed) >= after + 3 }
            progress.stop.store(true, ordering: .relaxed)
            try await writer.value
            #expect(summary.collections == 1 && summary.segmentFiles > 0 && summary.bytes > 0, "\(summary)")
            #expect(after > before, "writes went on during the backup")
        }

        let restored = TemporaryDirectory()
        let summary = try Database.restore(from: backups.child("one"), to: restored.child("db"))
        let db = try await Database.open(path: restored.child("db"), options: quietOptions())
        do {
            let all = try await db.query("b", filter: nil, limit: 100_000, includeVectors: true)
            #expect(summary.rows == all.count)
            // Whole batches only, every batch acknowledged before the backup started, none begun
            // after it returned: the state at one instant of a single writer's sequence.
            let batches = Dictionary(grouping: all.map { Int($0.id.rawValue) / Self.batch }, by: { $0 })
            let highest = try #require(batches.keys.max())
            #expect(highest + 1 >= before && highest + 1 <= after + 1, "batches 0..<\(highest + 1), acked \(before)…\(after)")
            // Deletes: one id of every 7th batch from 10 on, each in its batch's commit order.
            // The writer deletes after upserting its batch, so the snapshot may fall between the
            // highest batch and that batch's delete: either is one instant.
            func deletedID(_ step: Int) -> UInt64? { step >= 10 && step % 7 == 0 ? UInt64((step - 10) * Self.batch) : nil }
            let stored = Set(all.map(\.id.rawValue))
            let lastDeleteIn = deletedID(highest).map { !stored.contains($0) } ?? false
            var oracle = BruteForceOracle(metric: .l2, dimension: Self.dimension)
            for b in 0...highest {
                var ids = Set((0..<Self.batch).map { UInt64(b * Self.batch + $0) })
                for d in 10..<max(10, highest) { if let id = deletedID(d) { ids.remove(id) } }
                if lastDeleteIn, let id = deletedID(highest) { ids.remove(id) }
                let present = stored.intersection((0..<Self.batch).map { UInt64(b * Self.batch + $0) })
                #expect(present == ids, "batch \(b)")
                ids.forEach { oracle.upsert(RecordID($0), Self.vector($0)) }
            }
            #expect(all.allSatisfy { $0.vector == Self.vector($0.id.rawValue) && $0.fields["n"] == .int64(Int64($0.id.rawValue)) })
            var rng = SeededRandom(seed: 99)
            for _ in 0..<5 {
                let query = randomVector(Self.dimension, integer: true, using: &rng)
                let hits = try await db.search("b", queries: [query], k: 10, options: SearchOptions(nprobe: 8))
                #expect(hits[0].map(\.id) == oracle.search(query, k: 10).map(\.id))
            }
            try await db.close()
        } catch {
            try? await db.close()
            throw error
        }
    }

    @Test func restoreRefusesDamagedBackupsAndUsedDirectories() async throws {
        let source = TemporaryDirectory()
        let backups = TemporaryDirectory()
        try await withDatabase(source) { db async throws in
            _ = try await db.createCollection(Self.schema())
            for b in 0..<8 { _ = try await db.upsert("b", Self.records(batch: b)) }
            try await db.waitForBackgroundWork()
            _ = try await db.backup(to: backups.child("good"))
            await #expect(throws: QuiverError.self) { try await db.backup(to: backups.child("good")) }
        }
        let target = TemporaryDirectory()
        // Not a backup.
        #expect(throws: QuiverError.self) { try Database.restore(from: source.path, to: target.child("x")) }
        // Into a directory that is not empty.
        try Data("x".utf8).write(to: URL(fileURLWithPath: target.child("used")))
        #expect(throws: QuiverError.self) { try Database.restore(from: backups.child("good"), to: target.path) }
        // A flipped byte in an index file: refused, and nothing is left behind.
        try FileManager.default.copyItem(atPath: backups.child("good"), toPath: backups.child("bad"))
        let segments = backups.child("bad") + "/segments"
        let collection = try #require(try FileManager.default.contentsOfDirectory(atPath: segments).first)
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: segments + "/" + collection).first)
        let path = segments + "/" + collection + "/" + file
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        do {
            _ = try Database.restore(from: backups.child("bad"), to: target.child("restored"))
            Issue.record("a damaged backup was restored")
        } catch {
            #expect(error.code == .corruption, "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: target.child("restored")))
        #expect(try Database.restore(from: backups.child("good"), to: target.child("restored")).rows == 400)
    }

    /// A backup cut short (the process killed before it finished) leaves its directory with the
    /// in-progress marker and no final marker: restore refuses it, and the next backup to the
    /// same destination replaces it — it used to be refused as "not an empty directory" until
    /// someone removed it by hand.
    @Test func anUnfinishedBackupIsReplacedByTheNext() async throws {
        let source = TemporaryDirectory()
        let backups = TemporaryDirectory()
        let target = backups.child("nightly")
        try await withDatabase(source) { db async throws in
            _ = try await db.createCollection(Self.schema())
            for b in 0..<8 { _ = try await db.upsert("b", Self.records(batch: b)) }
            try await db.waitForBackgroundWork()
            _ = try await db.backup(to: target)
            // The state a backup killed before its last step leaves.
            try FileManager.default.removeItem(atPath: target + "/" + Database.backupMarker)
            try Data().write(to: URL(fileURLWithPath: target + "/" + Database.backupInProgressMarker))
            #expect(throws: QuiverError.self) { _ = try Database.restore(from: target, to: backups.child("restored-early")) }

            _ = try await db.upsert("b", Self.records(batch: 8))
            let summary = try await db.backup(to: target)
            #expect(summary.collections == 1 && summary.segmentFiles > 0)
            #expect(!FileManager.default.fileExists(atPath: target + "/" + Database.backupInProgressMarker))
            // A finished backup is never replaced.
            #expect(await thrownError { _ = try await db.backup(to: target) }?.reason == .invalidPath)
        }
        let restored = try Database.restore(from: target, to: backups.child("restored"))
        #expect(restored.rows == 9 * Self.batch)
    }
}
