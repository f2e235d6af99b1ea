import Foundation
import QuiverCore
import QuiverStorage

/// Opening a database: recovery of the in-memory state from RocksDB alone.
///
/// RocksDB replays its WAL first (point-in-time recovery), so the store holds exactly the
/// acknowledged prefix of writes. Then every collection's live rows are scanned in row-id order
/// into fresh vector blocks and the id → row map is rebuilt. Nothing else is persisted about
/// memory, so there is nothing that could disagree with the store.
extension Database {
    /// Opens (or creates) the database in the directory `path`.
    ///
    /// - Throws: `databaseLocked` when another process has it open; `unsupportedFormat`;
    ///   `corruption` when the stored data contradicts itself; `io`.
    public static func open(path: String, options: DatabaseOptions = DatabaseOptions()) async throws(QuiverError) -> Database {
        let loader = BlockingPool(threads: 1)
        let loaded: Result<(Store, CollectionRegistry), QuiverError>
        do throws(QuiverError) {
            loaded = .success(try await loader.run { () throws(QuiverError) in try load(path: path, options: options) })
        } catch {
            loaded = .failure(error)
        }
        await loader.shutdown()
        let (store, registry) = try loaded.get()
        return Database(store: store, registry: registry, options: options)
    }

    private static func load(path: String, options: DatabaseOptions) throws(QuiverError) -> (Store, CollectionRegistry) {
        let started = ContinuousClock.now
        let store = try Store.open(path: path, backgroundJobs: options.storageBackgroundJobs)
        do throws(QuiverError) {
            let catalog = try store.loadCatalog()
            let snapshot = store.snapshot()
            var collections: [String: CollectionState] = [:]
            var totalRows = 0
            for stored in catalog.collections {
                let name = stored.schema.name
                guard collections[name] == nil else {
                    throw QuiverError.corruption("two catalog records are named \"\(name)\"", collection: name)
                }
                let data = try loadRows(store, stored, nextRowID: catalog.nextRowIDs[stored.id] ?? RowID(0), snapshot: snapshot)
                totalRows += data.rowCount
                collections[name] = CollectionState(stored: stored, data: data)
            }
            options.logger.info(
                "database opened",
                metadata: [
                    "path": "\(store.directory.path)", "collections": "\(collections.count)", "rows": "\(totalRows)",
                    "duration": "\(ContinuousClock.now - started)",
                ])
            return (store, CollectionRegistry(collections: collections, nextCollectionID: catalog.nextCollectionID))
        } catch {
            try? store.close()
            throw error
        }
    }

    private static func loadRows(
        _ store: Store, _ stored: StoredCollection, nextRowID: RowID, snapshot: StorageSnapshot
    ) throws(QuiverError) -> CollectionData {
        let name = stored.schema.name
        var data = CollectionData(dimension: stored.schema.dimension, nextRowID: nextRowID, storage: snapshot)
        var lastRow: RowID?
        try store.scanRows(of: stored) { (row, id, vectorBytes) throws(QuiverError) in
            guard data.location(of: id) == nil else {
                throw .corruption("collection \"\(name)\": id \(id) has more than one live row", collection: name)
            }
            data.setLocation(data.appendLoaded(id: id, rowID: row, vectorBytes: vectorBytes), for: id)
            lastRow = row
        }
        if let lastRow, lastRow >= nextRowID {
            throw .corruption(
                "collection \"\(name)\": \(lastRow) is not below the stored next row id \(nextRowID.rawValue)", collection: name)
        }
        return data
    }
}
