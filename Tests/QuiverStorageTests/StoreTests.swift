@testable import QuiverStorage
import QuiverCore
import QuiverTesting
import Testing

@Suite struct StoreTests {
    @Test func secondOpenOfTheSameDirectoryIsRefusedWithTheHolder() throws {
        let dir = TemporaryDirectory()
        let store = try Store.open(path: dir.path)
        do throws(QuiverError) {
            _ = try Store.open(path: dir.path)
            Issue.record("opened twice")
        } catch {
            #expect(error.reason == .databaseLocked)
            #expect(error.message.contains("pid"))
        }
        #expect(store.close() == nil)
        // Released on close: opens again.
        #expect(try Store.open(path: dir.path).close() == nil)
    }

    @Test func newerFormatVersionIsRefused() throws {
        let dir = TemporaryDirectory()
        let store = try Store.open(path: dir.path)
        let batch = RocksWriteBatch()
        batch.put(store.rocks.family(.meta), key: KeyLayout.formatKey, value: [99, 0, 0, 0])
        try store.rocks.write(batch, sync: true)
        #expect(store.close() == nil)
        do throws(QuiverError) {
            _ = try Store.open(path: dir.path)
            Issue.record("opened a newer format")
        } catch {
            #expect(error.reason == .unsupportedFormat)
        }
    }

    @Test func committedRowsSurviveReopenAndSnapshotsIsolateReads() throws {
        let dir = TemporaryDirectory()
        let schema = CollectionSchema(name: "c", dimension: 2, metric: .l2, fields: [FieldSchema(name: "n", type: .int64)])
        let collection = StoredCollection(id: CollectionID(1), schema: schema, createdAtMilliseconds: 0)
        let store = try Store.open(path: dir.path)
        let batch = store.makeBatch()
        try batch.putCollection(collection)
        batch.putNextCollectionID(CollectionID(2))
        batch.putRow(collection.id, RowID(0), record: ValidatedRecord(id: 10, vector: [1, 2], values: [.int64(5)]), withFields: true)
        batch.putNextRowID(collection.id, RowID(1))
        try store.commit(batch, sync: true)

        let before = store.snapshot()
        let delete = store.makeBatch()
        delete.deleteRow(collection.id, RowID(0), withFields: true)
        try store.commit(delete, sync: true)
        #expect(try store.readFields(of: collection, rows: [RowID(0)], snapshot: before) == [[.int64(5)]])
        #expect(try store.readFields(of: collection, rows: [RowID(0)], snapshot: store.snapshot()) == [nil])
        let restore = store.makeBatch()
        restore.putRow(collection.id, RowID(1), record: ValidatedRecord(id: 10, vector: [3, 4], values: [.int64(6)]), withFields: true)
        restore.putNextRowID(collection.id, RowID(2))
        try store.commit(restore, sync: true)
        _ = consume before
        #expect(store.close() == nil)

        let reopened = try Store.open(path: dir.path)
        let catalog = try reopened.loadCatalog()
        #expect(catalog.collections == [collection])
        #expect(catalog.nextCollectionID == CollectionID(2))
        #expect(catalog.nextRowIDs[collection.id] == RowID(2))
        var rows: [(RowID, RecordID, [Float])] = []
        try reopened.scanRows(of: collection) { row, id, bytes in rows.append((row, id, Array(bytes.bindMemory(to: Float.self)))) }
        #expect(rows.count == 1)
        #expect(rows.first?.0 == RowID(1) && rows.first?.1 == 10 && rows.first?.2 == [3, 4])
        #expect(reopened.close() == nil)
    }
}
