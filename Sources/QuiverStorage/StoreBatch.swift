import Foundation
import QuiverCore

/// The mutations of one commit, applied to RocksDB atomically by `Store.commit`.
///
/// Not `Sendable`: built and committed by the engine's single commit thread.
public final class StoreBatch {
    let batch = RocksWriteBatch()
    private let store: Store

    init(store: Store) { self.store = store }

    /// Number of RocksDB operations in the batch.
    public var operationCount: Int { batch.count }

    public func putCollection(_ collection: StoredCollection) throws(QuiverError) {
        batch.put(store.rocks.family(.meta), key: KeyLayout.collection(collection.id), value: try Self.json(collection))
    }

    /// Removes the catalog entry, the counters, the segment manifest and every row of the
    /// collection. (Its segment files are removed after the commit.)
    public func dropCollection(_ id: CollectionID) {
        let meta = store.rocks.family(.meta)
        batch.delete(meta, key: KeyLayout.collection(id))
        batch.delete(meta, key: KeyLayout.nextRowID(id))
        batch.delete(meta, key: KeyLayout.nextSegmentID(id))
        batch.delete(meta, key: KeyLayout.template(id))
        let segments = KeyLayout.segments(of: id)
        batch.deleteRange(meta, start: segments.start, end: segments.end)
        let range = KeyLayout.rows(of: id)
        batch.deleteRange(store.rocks.family(.vectors), start: range.start, end: range.end)
        batch.deleteRange(store.rocks.family(.attrs), start: range.start, end: range.end)
    }

    public func putNextCollectionID(_ id: CollectionID) {
        var w = BinaryWriter(capacity: 4)
        w.u32LE(id.rawValue)
        batch.put(store.rocks.family(.meta), key: KeyLayout.nextCollectionIDKey, value: w.bytes)
    }

    public func putSegment(_ collection: CollectionID, _ record: SegmentRecord) throws(QuiverError) {
        batch.put(store.rocks.family(.meta), key: KeyLayout.segment(collection, record.id), value: try Self.json(record))
    }

    public func deleteSegment(_ collection: CollectionID, _ segment: SegmentID) {
        batch.delete(store.rocks.family(.meta), key: KeyLayout.segment(collection, segment))
    }

    public func putTemplate(_ collection: CollectionID, _ record: TemplateRecord) throws(QuiverError) {
        batch.put(store.rocks.family(.meta), key: KeyLayout.template(collection), value: try Self.json(record))
    }

    public func putNextSegmentID(_ collection: CollectionID, _ segment: SegmentID) {
        var w = BinaryWriter(capacity: 4)
        w.u32LE(segment.rawValue)
        batch.put(store.rocks.family(.meta), key: KeyLayout.nextSegmentID(collection), value: w.bytes)
    }

    private static func json(_ value: some Encodable) throws(QuiverError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { return Array(try encoder.encode(value)) } catch {
            throw QuiverError(.internal, .internalFailure, "encode manifest record: \(error)")
        }
    }

    public func putNextRowID(_ collection: CollectionID, _ row: RowID) {
        var w = BinaryWriter(capacity: 8)
        w.u64LE(row.rawValue)
        batch.put(store.rocks.family(.meta), key: KeyLayout.nextRowID(collection), value: w.bytes)
    }

    /// Writes a row. `withFields` is false for collections without scalar fields, which keep no
    /// attrs entries at all.
    public func putRow(_ collection: CollectionID, _ row: RowID, record: ValidatedRecord, withFields: Bool) {
        let key = KeyLayout.row(collection, row)
        batch.put(store.rocks.family(.vectors), key: key, value: RowCodec.encodeVector(id: record.id, vector: record.vector))
        if withFields {
            batch.put(store.rocks.family(.attrs), key: key, value: RowCodec.encodeFields(record.values))
        }
    }

    public func deleteRow(_ collection: CollectionID, _ row: RowID, withFields: Bool) {
        let key = KeyLayout.row(collection, row)
        batch.delete(store.rocks.family(.vectors), key: key)
        if withFields { batch.delete(store.rocks.family(.attrs), key: key) }
    }
}
