import Foundation
import QuiverCore

/// Quiver's durable state in RocksDB: the catalog, every live row's vector and fields, and the
/// counters that keep ids unique across restarts. The source of truth; everything in memory is
/// rebuilt from it on open (see `QuiverEngine.Database.open`).
///
/// A `Store` is safe to use from any thread. Writes go through `commit`, which the engine calls
/// from its single commit thread.
public final class Store: Sendable {
    public let directory: DataDirectory
    let rocks: RocksDB

    private init(directory: DataDirectory, rocks: RocksDB) {
        self.directory = directory
        self.rocks = rocks
    }

    /// Opens or creates the database in `path`, taking the directory lock.
    ///
    /// - Parameters:
    ///   - backgroundJobs: RocksDB flush and compaction threads.
    ///   - bulkLoad: tune the row families for a write-only load (`RocksDB.open`): reads of rows
    ///     not yet flushed become slow.
    /// - Throws: `databaseLocked` when another process has it open; `unsupportedFormat` for a
    ///   database written by a newer Quiver; `io` / `corruption` from RocksDB.
    public static func open(path: String, backgroundJobs: Int = 2, bulkLoad: Bool = false) throws(QuiverError) -> Store {
        let directory = try DataDirectory(path: path)
        do throws(QuiverError) {
            let rocks = try RocksDB.open(path: directory.rocksDBPath, backgroundJobs: backgroundJobs, bulkLoad: bulkLoad)
            let store = Store(directory: directory, rocks: rocks)
            try store.checkFormat()
            return store
        } catch {
            directory.unlock()
            throw error
        }
    }

    private func checkFormat() throws(QuiverError) {
        if let value = try rocks.get(.meta, key: KeyLayout.formatKey) {
            let version = try value.withBytes { (raw) throws(QuiverError) -> UInt32 in
                var r = BinaryReader(raw, what: "format version")
                return try r.u32LE()
            }
            guard version <= KeyLayout.formatVersion else {
                throw QuiverError(
                    .failedPrecondition, .unsupportedFormat,
                    "the database at \(directory.path) has format version \(version); this Quiver reads up to \(KeyLayout.formatVersion)",
                    field: "data-dir", value: directory.path)
            }
        } else {
            var w = BinaryWriter()
            w.u32LE(KeyLayout.formatVersion)
            let batch = RocksWriteBatch()
            batch.put(rocks.family(.meta), key: KeyLayout.formatKey, value: w.bytes)
            try rocks.write(batch, sync: true)
        }
    }

    /// A consistent copy of RocksDB at `path` (which must not exist), as of one instant: every
    /// write acknowledged before the call is in it, none that started after it returned.
    public func checkpoint(to path: String) throws(QuiverError) { try rocks.checkpoint(to: path) }

    /// Writes every memtable to SST files and waits for it.
    public func flush() throws(QuiverError) { try rocks.flush() }

    /// Flushes memtables (so the next open replays no WAL), closes RocksDB and releases the lock.
    /// Every `StorageSnapshot` must have been released. A flush that fails (a full disk, a failing
    /// device) does not keep the store open: every acknowledged write is in the WAL, which the next
    /// open replays.
    ///
    /// - Returns: the flush's error, when it failed.
    @discardableResult
    public func close() -> QuiverError? {
        defer {
            rocks.close()
            directory.unlock()
        }
        do {
            try rocks.flush()
            return nil
        } catch {
            return error
        }
    }

    /// Whether writes are refused because the disk is full (`QuiverError.Reason.diskFull`).
    public var isDiskFull: Bool { rocks.isDiskFull }

    // MARK: Catalog

    /// Reads every collection record and counter from the meta family.
    public func loadCatalog() throws(QuiverError) -> Catalog {
        var collections: [StoredCollection] = []
        let decoder = JSONDecoder()
        try rocks.scan(.meta, start: KeyLayout.collectionsStart, end: KeyLayout.collectionsEnd) { (_, value) throws(QuiverError) in
            do throws(any Error) {
                collections.append(try decoder.decode(StoredCollection.self, from: Data(value)))
            } catch {
                throw .corruption("unreadable collection record: \(error)")
            }
        }
        var nextCollectionID = CollectionID(1)
        if let value = try rocks.get(.meta, key: KeyLayout.nextCollectionIDKey) {
            nextCollectionID = CollectionID(try Store.decode(value, "next collection id") { (r) throws(QuiverError) in try r.u32LE() })
        }
        var nextRowIDs: [CollectionID: RowID] = [:]
        for collection in collections {
            if let value = try rocks.get(.meta, key: KeyLayout.nextRowID(collection.id)) {
                nextRowIDs[collection.id] = RowID(try Store.decode(value, "next row id") { (r) throws(QuiverError) in try r.u64LE() })
            }
            guard collection.id < nextCollectionID else {
                throw .corruption("collection id \(collection.id.rawValue) is not below the next id \(nextCollectionID.rawValue)")
            }
        }
        return Catalog(collections: collections, nextCollectionID: nextCollectionID, nextRowIDs: nextRowIDs)
    }

    private static func decode<T>(
        _ value: [UInt8], _ what: String, _ body: (inout BinaryReader) throws(QuiverError) -> T
    ) throws(QuiverError) -> T {
        try value.withBytes { (raw) throws(QuiverError) -> T in
            var r = BinaryReader(raw, what: what)
            let result = try body(&r)
            guard r.isAtEnd else { throw .corruption("\(what) has trailing bytes") }
            return result
        }
    }

    // MARK: Segments

    /// The manifest of a collection: its indexed segments (by id), its template and its next
    /// segment id.
    public func loadSegmentManifest(
        of collection: CollectionID
    ) throws(QuiverError) -> (segments: [SegmentRecord], template: TemplateRecord?, nextSegmentID: SegmentID) {
        var segments: [SegmentRecord] = []
        let decoder = JSONDecoder()
        let range = KeyLayout.segments(of: collection)
        try rocks.scan(.meta, start: range.start, end: range.end) { (_, value) throws(QuiverError) in
            do { segments.append(try decoder.decode(SegmentRecord.self, from: Data(value))) } catch {
                throw .corruption("unreadable segment record: \(error)")
            }
        }
        var template: TemplateRecord?
        if let value = try rocks.get(.meta, key: KeyLayout.template(collection)) {
            do { template = try decoder.decode(TemplateRecord.self, from: Data(value)) } catch {
                throw .corruption("unreadable template record: \(error)")
            }
        }
        var next = SegmentID(0)
        if let value = try rocks.get(.meta, key: KeyLayout.nextSegmentID(collection)) {
            next = SegmentID(try Store.decode(value, "next segment id") { (r) throws(QuiverError) in try r.u32LE() })
        }
        return (segments, template, next)
    }

    /// Reads the vectors of rows as of `snapshot` (raw float32 per row); `nil` for a missing row.
    public func readVectors(
        of collection: StoredCollection, rows: [RowID], snapshot: StorageSnapshot
    ) throws(QuiverError) -> [[Float]?] {
        let keys = rows.map { KeyLayout.row(collection.id, $0) }
        let values = try rocks.multiGet(.vectors, keys: keys, snapshot: snapshot)
        return try values.map { (value) throws(QuiverError) -> [Float]? in
            guard let value else { return nil }
            return try value.withBytes { (raw) throws(QuiverError) -> [Float] in
                let (_, floats) = try RowCodec.decodeVector(raw, dimension: collection.schema.dimension)
                return [Float](unsafeUninitializedCapacity: floats.count / 4) { buffer, count in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: floats)
                    count = floats.count / 4
                }
            }
        }
    }

    // MARK: Rows

    /// Visits every live row of a collection in row-id order with its record id and raw vector
    /// bytes (valid only during the call). Used to rebuild the in-memory state on open.
    public func scanRows(
        of collection: StoredCollection,
        _ visit: (RowID, RecordID, UnsafeRawBufferPointer) throws(QuiverError) -> Void
    ) throws(QuiverError) {
        let range = KeyLayout.rows(of: collection.id)
        let dimension = collection.schema.dimension
        try rocks.scan(.vectors, start: range.start, end: range.end, fillCache: false) { (key, value) throws(QuiverError) in
            let (_, row) = try KeyLayout.decodeRow(key)
            let (id, vector) = try RowCodec.decodeVector(value, dimension: dimension)
            try visit(row, id, vector)
        }
    }

    /// Visits the field values of every live row of a collection in ascending row order (open
    /// path: segments rebuild their field columns and indexes from them). Nothing is visited
    /// for a collection without fields.
    public func scanFields(
        of collection: StoredCollection, _ visit: (RowID, [FieldValue]) throws(QuiverError) -> Void
    ) throws(QuiverError) {
        guard !collection.schema.fields.isEmpty else { return }
        let range = KeyLayout.rows(of: collection.id)
        try rocks.scan(.attrs, start: range.start, end: range.end, fillCache: false) { (key, value) throws(QuiverError) in
            let (_, row) = try KeyLayout.decodeRow(key)
            try visit(row, try RowCodec.decodeFields(value, schema: collection.schema))
        }
    }

    /// Reads the field values of rows as of `snapshot`; `nil` for a row that does not exist there.
    /// For a collection without fields every row yields `[]` without a read.
    public func readFields(
        of collection: StoredCollection, rows: [RowID], snapshot: StorageSnapshot
    ) throws(QuiverError) -> [[FieldValue]?] {
        guard !collection.schema.fields.isEmpty else { return rows.map { _ in [] } }
        let keys = rows.map { KeyLayout.row(collection.id, $0) }
        let values = try rocks.multiGet(.attrs, keys: keys, snapshot: snapshot)
        return try values.map { (value) throws(QuiverError) -> [FieldValue]? in
            guard let value else { return nil }
            return try value.withBytes { (raw) throws(QuiverError) in
                try RowCodec.decodeFields(raw, schema: collection.schema)
            }
        }
    }

    /// Counts the entries a collection has in the vectors and attrs families (diagnostics, tests).
    public func countEntries(of collection: CollectionID) throws(QuiverError) -> (vectors: Int, attrs: Int) {
        let range = KeyLayout.rows(of: collection)
        var vectors = 0
        var attrs = 0
        try rocks.scan(.vectors, start: range.start, end: range.end, fillCache: false) { _, _ in vectors += 1 }
        try rocks.scan(.attrs, start: range.start, end: range.end, fillCache: false) { _, _ in attrs += 1 }
        return (vectors, attrs)
    }

    // MARK: Writes and snapshots

    public func makeBatch() -> StoreBatch { StoreBatch(store: self) }

    /// Applies the batch atomically through the WAL; with `sync` the WAL is fsynced before return.
    public func commit(_ batch: StoreBatch, sync: Bool) throws(QuiverError) {
        try rocks.write(batch.batch, sync: sync)
    }

    /// A read view of everything committed so far.
    public func snapshot() -> StorageSnapshot { StorageSnapshot(database: rocks) }

    /// Compacts the key ranges of a dropped collection so that its disk space comes back now
    /// rather than whenever RocksDB next compacts those files. Blocks; run it in the background.
    public func reclaimSpace(of collection: CollectionID) {
        let range = KeyLayout.rows(of: collection)
        rocks.compactRange(.vectors, start: range.start, end: range.end)
        rocks.compactRange(.attrs, start: range.start, end: range.end)
    }

    /// Entries of the row families (vectors, attrs) still in memtables, written to SST files by
    /// neither a flush nor RocksDB's own compaction yet.
    public var unflushedRowEntries: Int {
        ColumnFamily.allCases.filter(\.holdsRows).reduce(0) { sum, family in
            ["rocksdb.num-entries-active-mem-table", "rocksdb.num-entries-imm-mem-tables"].reduce(sum) { sum, name in
                sum + (rocks.property(family, name).flatMap(Int.init) ?? 0)
            }
        }
    }

    /// Bytes of SST files RocksDB holds (all families), from its `total-sst-files-size` property.
    public var sstBytes: Int {
        ColumnFamily.allCases.reduce(0) { sum, family in
            sum + (rocks.property(family, "rocksdb.total-sst-files-size").flatMap(Int.init) ?? 0)
        }
    }
}
