import Foundation
import QuiverCore
import QuiverStorage

/// Turns a group of queued writes into one RocksDB `WriteBatch`, and, once that batch is durable,
/// applies the same changes to memory.
///
/// Steps, all on the commit thread:
/// 1. `plan` each op in arrival order against the in-memory state plus the changes of the ops
///    before it in the group (an id upserted twice in one group tombstones its own pending row).
///    An op that cannot apply (its collection was dropped, a name is taken, a segment is gone)
///    fails alone and adds nothing to the batch.
/// 2. The caller commits the batch — one WAL write, one fsync for the whole group.
/// 3. `apply` replays the planned changes into memory under each collection's lock and publishes
///    them with a storage snapshot taken after the commit: first the row writes, then the segment
///    changes (seal, index publication, compaction's swap). Only then are writers acknowledged,
///    so an acknowledged write is both durable and visible to the next read.
///
/// If the commit fails nothing is applied and every planned op fails with the error.
struct CommitGroup {
    /// Where an id's live row is, as seen by the ops planned so far.
    private enum Target: RecordIDMapValue {
        case existing(RowLocation)
        case pending(Int)  // index into `CollectionChanges.appends`
        case deleted

        static var placeholder: Target { .deleted }
    }

    private enum SegmentChange {
        case seal
        case installTemplate(Template)
        case publishIndex(IndexedRows)
        case replace(inputs: [SegmentID], output: IndexedRows?)
    }

    private struct CollectionChanges {
        let collection: CollectionState
        var appends: [(record: ValidatedRecord, rowID: RowID)] = []
        var removals: [Target] = []
        var targets = RecordIDMap<Target>()
        var segmentChanges: [SegmentChange] = []
        var nextRowID: RowID
    }

    let batch: StoreBatch
    private let store: Store
    private(set) var catalog: [String: CollectionState]
    private(set) var nextCollectionID: CollectionID
    private var changes: [ObjectIdentifier: CollectionChanges] = [:]
    private var order: [ObjectIdentifier] = []
    private(set) var changesCatalog = false

    init(store: Store, catalog: [String: CollectionState], nextCollectionID: CollectionID) {
        self.store = store
        self.batch = store.makeBatch()
        self.catalog = catalog
        self.nextCollectionID = nextCollectionID
    }

    // MARK: Planning

    mutating func plan(_ op: WriteOp) -> Result<WriteOutcome, QuiverError> {
        let result = Result { () throws(QuiverError) -> WriteOutcome in
            switch op {
            case .create(let schema): return try planCreate(schema)
            case .drop(let name): return try planDrop(name)
            case .upsert(let collection, let records): return try planUpsert(collection, records)
            case .delete(let collection, let ids, let versions): return try planDelete(collection, ids, versions: versions)
            case .seal(let collection): return try planSegmentChange(collection, .seal)
            case .installTemplate(let collection, let template):
                try batch.putTemplate(collection.stored.id, template.record)
                return try planSegmentChange(collection, .installTemplate(template))
            case .publishIndex(let collection, let rows): return try planPublish(collection, rows)
            case .replaceSegments(let collection, let inputs, let output): return try planReplace(collection, inputs, output)
            }
        }
        if case .success = result, op.changesCatalog { changesCatalog = true }
        return result
    }

    private mutating func planCreate(_ schema: CollectionSchema) throws(QuiverError) -> WriteOutcome {
        guard catalog[schema.name] == nil else {
            throw QuiverError(
                .alreadyExists, .collectionExists, "collection \"\(schema.name)\" already exists",
                collection: schema.name, field: "name", value: schema.name)
        }
        guard catalog.count < Limits.collectionsMax else {
            throw QuiverError(
                .resourceExhausted, .tooManyCollections,
                "the database holds \(catalog.count) collections, the most allowed",
                collection: schema.name, field: "collections", value: String(catalog.count))
        }
        guard nextCollectionID.rawValue < .max else {
            throw QuiverError(.resourceExhausted, .tooManyCollections, "collection ids are exhausted", collection: schema.name)
        }
        let stored = StoredCollection(
            id: nextCollectionID, schema: schema, createdAtMilliseconds: SegmentState.nowMilliseconds())
        try batch.putCollection(stored)
        nextCollectionID = CollectionID(nextCollectionID.rawValue + 1)
        batch.putNextCollectionID(nextCollectionID)
        let collection = CollectionState(
            stored: stored,
            data: CollectionData(schema: schema, nextRowID: RowID(0), nextSegmentID: SegmentID(0), storage: store.snapshot()))
        catalog[schema.name] = collection
        return .created(collection)
    }

    private mutating func planDrop(_ name: String) throws(QuiverError) -> WriteOutcome {
        guard let collection = catalog.removeValue(forKey: name) else { throw .collectionNotFound(name) }
        batch.dropCollection(collection.stored.id)
        changes.removeValue(forKey: ObjectIdentifier(collection))
        return .dropped(collection)
    }

    /// Takes the collection's pending changes out of the group, if it is still the one its name
    /// refers to; the caller puts them back. Taken out, not copied: a copy would share the
    /// arrays with the dictionary's, and the next append would copy all the rows planned so far.
    private mutating func changesFor(_ collection: CollectionState) throws(QuiverError) -> CollectionChanges {
        guard catalog[collection.name] === collection else { throw .collectionNotFound(collection.name) }
        if let existing = changes.removeValue(forKey: ObjectIdentifier(collection)) { return existing }
        let nextRowID = collection.data.withLock { $0.nextRowID }
        order.append(ObjectIdentifier(collection))
        return CollectionChanges(collection: collection, nextRowID: nextRowID)
    }

    private mutating func planUpsert(_ collection: CollectionState, _ records: [ValidatedRecord]) throws(QuiverError) -> WriteOutcome {
        var pending = try changesFor(collection)
        let collectionID = collection.stored.id
        let withFields = !collection.schema.fields.isEmpty
        var replaced = 0
        pending.targets.reserveCapacity(pending.targets.count + records.count)
        collection.data.withLock { data in
            for record in records {
                if let old = Self.current(record.id, pending, data) {
                    batch.deleteRow(collectionID, Self.rowID(of: old, pending, data), withFields: withFields)
                    pending.removals.append(old)
                    replaced += 1
                }
                let rowID = pending.nextRowID
                pending.nextRowID = rowID.next
                batch.putRow(collectionID, rowID, record: record, withFields: withFields)
                pending.appends.append((record, rowID))
                pending.targets[record.id] = .pending(pending.appends.count - 1)
            }
        }
        batch.putNextRowID(collectionID, pending.nextRowID)
        changes[ObjectIdentifier(collection)] = pending
        return .upserted(inserted: records.count - replaced, replaced: replaced)
    }

    private mutating func planDelete(
        _ collection: CollectionState, _ ids: [RecordID], versions: [RowID]?
    ) throws(QuiverError) -> WriteOutcome {
        var pending = try changesFor(collection)
        let collectionID = collection.stored.id
        let withFields = !collection.schema.fields.isEmpty
        var deleted = 0
        collection.data.withLock { data in
            for (i, id) in ids.enumerated() {
                guard let old = Self.current(id, pending, data) else { continue }
                let row = Self.rowID(of: old, pending, data)
                if let versions, versions[i] != row { continue }
                batch.deleteRow(collectionID, row, withFields: withFields)
                pending.removals.append(old)
                pending.targets[id] = .deleted
                deleted += 1
            }
        }
        changes[ObjectIdentifier(collection)] = pending
        return .deleted(deleted)
    }

    private mutating func planSegmentChange(_ collection: CollectionState, _ change: SegmentChange) throws(QuiverError) -> WriteOutcome {
        var pending = try changesFor(collection)
        pending.segmentChanges.append(change)
        changes[ObjectIdentifier(collection)] = pending
        if case .seal = change { return .sealed(nil) }
        return .segmentsChanged
    }

    private mutating func planPublish(_ collection: CollectionState, _ rows: IndexedRows) throws(QuiverError) -> WriteOutcome {
        let id = rows.record.id
        let (present, nextSegmentID) = collection.data.withLock { data in
            (data.segment(id).map { $0.count == rows.rowIDs.count && $0.phase != .indexed } ?? false, data.nextSegmentID)
        }
        guard present else {
            throw QuiverError(.failedPrecondition, .internalFailure, "\(id) of \"\(collection.name)\" changed while it was indexed")
        }
        try batch.putSegment(collection.stored.id, rows.record)
        batch.putNextSegmentID(collection.stored.id, nextSegmentID)
        return try planSegmentChange(collection, .publishIndex(rows))
    }

    private mutating func planReplace(
        _ collection: CollectionState, _ inputs: [SegmentID], _ output: IndexedRows?
    ) throws(QuiverError) -> WriteOutcome {
        let (present, nextSegmentID) = collection.data.withLock { data in
            (inputs.allSatisfy { data.segment($0)?.phase == .indexed }, data.nextSegmentID)
        }
        guard present else {
            throw QuiverError(.failedPrecondition, .internalFailure, "segments of \"\(collection.name)\" changed while they were compacted")
        }
        if let output { try batch.putSegment(collection.stored.id, output.record) }
        for input in inputs { batch.deleteSegment(collection.stored.id, input) }
        batch.putNextSegmentID(collection.stored.id, nextSegmentID)
        return try planSegmentChange(collection, .replace(inputs: inputs, output: output))
    }

    private static func current(_ id: RecordID, _ pending: CollectionChanges, _ data: CollectionData) -> Target? {
        switch pending.targets[id] {
        case .deleted: nil
        case .some(let target): target
        case nil: data.location(of: id).map(Target.existing)
        }
    }

    private static func rowID(of target: Target, _ pending: CollectionChanges, _ data: CollectionData) -> RowID {
        switch target {
        case .existing(let location): data.rowID(at: location)
        case .pending(let index): pending.appends[index].rowID
        case .deleted: preconditionFailure("a deleted target has no row")
        }
    }

    // MARK: Applying

    /// Publishes the planned changes in memory. Call only after the batch is durable.
    ///
    /// - Returns: the segments sealed by this group, for the background builder.
    func apply(storage: StorageSnapshot) -> [(CollectionState, SegmentID)] {
        var sealed: [(CollectionState, SegmentID)] = []
        for key in order {
            guard let pending = changes[key] else { continue }
            pending.collection.data.withLock { data in
                let (appended, full) = data.append(pending.appends)
                sealed += full.map { (pending.collection, $0) }
                func resolve(_ target: Target) -> RowLocation? {
                    switch target {
                    case .existing(let location): location
                    case .pending(let index): appended[index]
                    case .deleted: nil
                    }
                }
                for removal in pending.removals { data.markDeleted(resolve(removal)!) }
                for (id, target) in pending.targets { data.setLocation(resolve(target), for: id) }
                data.nextRowID = pending.nextRowID
                for change in pending.segmentChanges {
                    switch change {
                    case .seal:
                        if let id = data.sealGrowing() { sealed.append((pending.collection, id)) }
                    case .installTemplate(let template):
                        data.installTemplate(template)
                    case .publishIndex(let rows):
                        data.publishIndex(rows, for: rows.record.id)
                    case .replace(let inputs, let output):
                        _ = data.replace(inputs, with: output, createdAtMilliseconds: output?.record.createdAtMilliseconds ?? 0)
                    }
                }
                data.storage = storage
            }
        }
        return sealed
    }
}
