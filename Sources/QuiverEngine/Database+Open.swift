import Algorithms
import Foundation
import Logging
import QuiverCore
import QuiverFilter
import QuiverIndex
import QuiverStorage

/// Opening a database: recovery of the in-memory state from RocksDB and the index files.
///
/// RocksDB replays its WAL first (point-in-time recovery), so the store holds exactly the
/// acknowledged prefix of writes. Then, per collection (the numbers are those of the steps in
/// `loadCollection`):
/// 1. the segment manifest names the indexed segments; each index file is read and verified
///    (checksums). A missing or corrupt file is logged, and its segment comes back as a sealed
///    segment served exactly from its rows in RocksDB, queued to be rebuilt;
/// 2. the template of every generation in use is an emptied clone of one of its segments — no
///    training;
/// 3. one scan of the collection's live rows in row-id order puts each row in its indexed segment
///    (by the segment's row ranges and row ids; the vector is not copied), or in memory (rows of a
///    segment being rebuilt, and rows that were growing or sealed at shutdown), and rebuilds the
///    id → row map;
/// 4. one scan of the field values, in the same order, fills every segment's field columns;
/// 5. the rows of an indexed segment that the scan did not meet were deleted: they become its
///    tombstones;
/// 6. a segment being rebuilt none of whose rows is live any more loses its manifest record;
/// 7. files the manifest does not name (a build or compaction interrupted before its manifest
///    write) are deleted.
extension Database {
    /// Opens (or creates) the database in the directory `path`.
    ///
    /// - Throws: `databaseLocked` when another process has it open; `unsupportedFormat`;
    ///   `corruption` when the stored data contradicts itself; `io`.
    public static func open(path: String, options: DatabaseOptions = DatabaseOptions()) async throws(QuiverError) -> Database {
        let loader = BlockingPool(threads: 1)
        let loaded: Result<(Store, CollectionRegistry, [(CollectionState, SegmentID)]), QuiverError>
        do throws(QuiverError) {
            loaded = .success(try await loader.run { () throws(QuiverError) in try load(path: path, options: options) })
        } catch {
            loaded = .failure(error)
        }
        await loader.shutdown()
        let (store, registry, sealed) = try loaded.get()
        let database = Database(store: store, registry: registry, options: options, statistics: EngineStatistics())
        for (collection, segment) in sealed { database.background.schedule(.build(collection, segment)) }
        return database
    }

    private static func load(
        path: String, options: DatabaseOptions
    ) throws(QuiverError) -> (Store, CollectionRegistry, [(CollectionState, SegmentID)]) {
        let started = ContinuousClock.now
        let store = try Store.open(path: path, backgroundJobs: options.storageBackgroundJobs, bulkLoad: options.bulkLoad)
        do throws(QuiverError) {
            let catalog = try store.loadCatalog()
            let snapshot = store.snapshot()
            var collections: [String: CollectionState] = [:]
            var sealed: [(CollectionState, SegmentID)] = []
            var totalRows = 0
            for stored in catalog.collections {
                let name = stored.schema.name
                guard collections[name] == nil else {
                    throw QuiverError.corruption("two catalog records are named \"\(name)\"", collection: name)
                }
                let (data, sealedIDs) = try loadCollection(
                    store, stored, nextRowID: catalog.nextRowIDs[stored.id] ?? RowID(0), snapshot: snapshot, logger: options.logger)
                totalRows += data.rowCount
                let collection = CollectionState(stored: stored, data: data)
                collections[name] = collection
                sealed += sealedIDs.map { (collection, $0) }
            }
            sweepDroppedCollections(store, keeping: Set(catalog.collections.map(\.id)), logger: options.logger)
            options.logger.info(
                "database opened",
                metadata: [
                    "path": "\(store.directory.path)", "collections": "\(collections.count)", "rows": "\(totalRows)",
                    "duration": "\(ContinuousClock.now - started)",
                ])
            return (store, CollectionRegistry(collections: collections, nextCollectionID: catalog.nextCollectionID), sealed)
        } catch {
            store.close()
            throw error
        }
    }

    /// Removes the index-file directories of collections the catalog no longer holds. A drop
    /// deletes the catalog record and the rows in one commit and the files afterwards, in the
    /// background: a process killed in between leaves the files, which nothing else would remove
    /// (5 of 10 rounds of `kill -9` 0–20 ms into a drop left 4–6 files of 4.4 MB). Anything under
    /// `segments/` that is not a live collection's directory is Quiver's own leftover.
    private static func sweepDroppedCollections(_ store: Store, keeping live: Set<CollectionID>, logger: Logger) {
        let root = store.directory.segmentsRoot
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for name in names.sorted() {
            if let id = UInt32(name), live.contains(CollectionID(id)) { continue }
            let path = root + "/" + name
            let files = (try? FileManager.default.contentsOfDirectory(atPath: path))?.count
            do {
                try FileManager.default.removeItem(atPath: path)
                logger.notice(
                    "removed the index files of a dropped collection",
                    metadata: ["directory": "\(path)", "files": "\(files.map(String.init) ?? "?")"])
            } catch {
                logger.error("cannot remove the index files of a dropped collection", metadata: ["directory": "\(path)", "error": "\(error)"])
            }
        }
    }

    private static func loadCollection(
        _ store: Store, _ stored: StoredCollection, nextRowID: RowID, snapshot: StorageSnapshot, logger: Logger
    ) throws(QuiverError) -> (CollectionData, [SegmentID]) {
        let schema = stored.schema
        let name = schema.name
        let directory = store.directory.segmentsPath(of: stored.id)
        let manifest = try store.loadSegmentManifest(of: stored.id)

        // 1. Index files.
        var indexed: [LoadedIndex] = []
        var broken: [SegmentRecord] = []
        for record in manifest.segments.sorted(by: { $0.id < $1.id }) {
            do throws(QuiverError) {
                let (file, checksum) = try SegmentFile.read(from: directory + "/" + record.file, dimension: schema.dimension)
                guard checksum == record.checksum else {
                    throw QuiverError.corruption("\(record.file): checksum \(checksum) is not the manifest's \(record.checksum)")
                }
                indexed.append(
                    LoadedIndex(
                        index: file.index, rowIDs: file.rowIDs, labels: file.labels, record: record,
                        columns: FieldColumns(schema: schema, reservingCapacity: file.rowIDs.count)))
            } catch {
                logger.error(
                    "index file unusable; serving the segment exactly and rebuilding it from storage",
                    metadata: ["collection": "\(name)", "segment": "\(record.id.rawValue)", "error": "\(error.message)"])
                broken.append(record)
            }
        }

        var data = CollectionData(schema: schema, nextRowID: nextRowID, nextSegmentID: manifest.nextSegmentID, storage: snapshot)

        // 2. Templates: an emptied clone of one segment per generation.
        for generation in Set(indexed.map(\.record.template)) {
            let source = indexed.first { $0.record.template == generation }!
            let record =
                manifest.template?.generation == generation
                ? manifest.template!
                : TemplateRecord(
                    generation: generation, nlist: source.index.nlist, codes: schema.index.codes, trainedRows: source.rowIDs.count,
                    trainedAtMilliseconds: source.record.indexedAtMilliseconds, trainMilliseconds: 0)
            data.installTemplate(Template(record: record, index: try source.index.emptyClone()))
        }
        for record in broken {
            let capacity = max(record.rows, 1)
            data.insertLoadedSegment(
                SegmentState(
                    id: record.id, phase: .sealed,
                    storage: .exact(
                        VectorBlock(dimension: schema.dimension, capacity: capacity), AppendingColumns(schema: schema, capacity: capacity)),
                    count: 0, createdAtMilliseconds: record.createdAtMilliseconds))
        }

        // 3. Rows. Ranges of indexed segments, sorted, to find a row's segment by binary search.
        var ranges: [(range: RowRange, segment: Int)] = []
        for (i, loaded) in indexed.enumerated() {
            for range in loaded.record.rowRanges { ranges.append((range, i)) }
        }
        ranges.sort { $0.range.first < $1.range.first }
        func indexedRow(_ row: RowID) -> (owner: Int, local: Int)? {
            guard let owner = Self.owner(of: row, in: ranges), let local = indexed[owner].row(of: row) else { return nil }
            return (owner, local)
        }
        var seen = indexed.map { [Bool](repeating: false, count: $0.rowIDs.count) }
        var sealed: [SegmentID] = broken.map(\.id)
        // Rows loaded into exact segments, ascending, for their field values in step 4.
        var exactRows: [(row: RowID, location: RowLocation)] = []
        var lastRow: RowID?
        try store.scanRows(of: stored) { (row, id, vectorBytes) throws(QuiverError) in
            guard data.location(of: id) == nil else {
                throw .corruption("collection \"\(name)\": id \(id) has more than one live row", collection: name)
            }
            lastRow = row
            if let (owner, local) = indexedRow(row) {
                guard indexed[owner].labels[local] == id else {
                    throw .corruption("collection \"\(name)\": \(row) is id \(id) in storage, another id in its index", collection: name)
                }
                data.setLocation(RowLocation(segment: indexed[owner].record.id, row: local), for: id)
                seen[owner][local] = true
            } else if let record = broken.first(where: { $0.contains(row) }) {
                let location = data.appendLoaded(to: record.id, record: id, rowID: row, vectorBytes: vectorBytes)
                data.setLocation(location, for: id)
                exactRows.append((row, location))
            } else {
                let (location, full) = data.appendLoaded(id: id, rowID: row, vectorBytes: vectorBytes)
                data.setLocation(location, for: id)
                exactRows.append((row, location))
                if let full { sealed.append(full) }
            }
        }
        if let lastRow, lastRow >= nextRowID {
            throw .corruption(
                "collection \"\(name)\": \(lastRow) is not below the stored next row id \(nextRowID.rawValue)", collection: name)
        }

        // 4. Field values, into the columns of every segment (a merge with the rows of step 3:
        // both scans ascend by row id). Rebuilt rather than stored with the index files: see
        // docs/filters.md, "Scalar indexes".
        var nextExact = 0
        if schema.fields.isEmpty {
            for (_, location) in exactRows { data.appendLoadedValues([], at: location) }
            nextExact = exactRows.count
        }
        try store.scanFields(of: stored) { (row, values) throws(QuiverError) in
            if let (owner, local) = indexedRow(row), seen[owner][local] {
                indexed[owner].columns.padWithNulls(to: local)
                indexed[owner].columns.append(values)
            } else if nextExact < exactRows.count, exactRows[nextExact].row == row {
                data.appendLoadedValues(values, at: exactRows[nextExact].location)
                nextExact += 1
            } else {
                throw .corruption("collection \"\(name)\": \(row) has field values but no vector, or is out of order", collection: name)
            }
        }
        guard nextExact == exactRows.count else {
            throw .corruption("collection \"\(name)\": \(exactRows[nextExact].row) has a vector but no field values", collection: name)
        }
        for loaded in indexed {
            var columns = loaded.columns
            columns.padWithNulls(to: loaded.rowIDs.count)
            data.insertLoadedSegment(
                SegmentState(
                    id: loaded.record.id, phase: .indexed,
                    storage: .indexed(
                        IndexedRows(
                            index: loaded.index, rowIDs: loaded.rowIDs, labels: loaded.labels, record: loaded.record,
                            fields: SegmentFields(freezing: columns))),
                    count: loaded.rowIDs.count, createdAtMilliseconds: loaded.record.createdAtMilliseconds))
        }

        // 5. Tombstones: indexed rows no longer in storage.
        for (i, rows) in indexed.enumerated() {
            for local in 0..<rows.rowIDs.count where !seen[i][local] {
                data.markDeleted(RowLocation(segment: rows.record.id, row: local))
            }
        }

        // A broken segment none of whose rows is live any more: drop its record now.
        let empty = broken.filter { data.segment($0.id)?.count == 0 }.map(\.id)
        if !empty.isEmpty {
            let batch = store.makeBatch()
            for id in empty { batch.deleteSegment(stored.id, id) }
            try store.commit(batch, sync: true)
            for id in empty { data.dropEmptySegment(id) }
            sealed.removeAll { empty.contains($0) }
        }

        // 7. Files nobody names.
        let named = Set(manifest.segments.map(\.file))
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where !named.contains(file) {
            try? FileManager.default.removeItem(atPath: directory + "/" + file)
        }
        return (data, sealed)
    }

    /// The position in `indexed` of the segment whose range holds `row` (`ranges` ascend and do
    /// not overlap).
    private static func owner(of row: RowID, in ranges: [(range: RowRange, segment: Int)]) -> Int? {
        let after = ranges.partitioningIndex { $0.range.first > row }
        guard after > 0, ranges[after - 1].range.contains(row) else { return nil }
        return ranges[after - 1].segment
    }
}

/// An index file read on open, while its segment's field columns are filled from storage.
private struct LoadedIndex {
    let index: IVFIndex
    let rowIDs: [RowID]
    let labels: [RecordID]
    let record: SegmentRecord
    var columns: FieldColumns

    func row(of rowID: RowID) -> Int? { IndexedRows.row(of: rowID, in: rowIDs) }
}
