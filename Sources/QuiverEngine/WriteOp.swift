import QuiverCore
import QuiverStorage

/// A mutation submitted to the commit queue, already validated against its collection's schema.
///
/// Segment changes (seal, index publication, compaction's swap, a new template) go through the
/// queue as well, so that they are ordered with the writes: a commit group never plans a write
/// against a segment that an earlier change in the same order has replaced.
enum WriteOp: Sendable {
    case create(CollectionSchema)
    case drop(name: String)
    case upsert(CollectionState, [ValidatedRecord])
    /// Delete these ids; with `versions`, only where the live row is still that row id (a delete
    /// by filter removes the rows that matched, not a newer version written since).
    case delete(CollectionState, [RecordID], versions: [RowID]?)
    /// Seal the growing segment (on request, or because it is old).
    case seal(CollectionState)
    /// Record a newly trained template generation.
    case installTemplate(CollectionState, Template)
    /// Record a built index (its file is already durable) and swap it in for the segment's vectors.
    case publishIndex(CollectionState, IndexedRows)
    /// Record compaction's output (its file is already durable), drop its inputs.
    case replaceSegments(CollectionState, inputs: [SegmentID], output: IndexedRows?)

    /// Records the op carries; `batch` sync stops waiting once enough are pending.
    var recordCount: Int {
        switch self {
        case .upsert(_, let records): records.count
        case .delete(_, let ids, _): ids.count
        default: 1
        }
    }

    /// Catalog and manifest changes are always fsynced, whatever the sync policy: they are rare,
    /// and a collection or an index that vanished after a crash would be worse than a slow commit.
    var changesCatalog: Bool {
        switch self {
        case .create, .drop, .installTemplate, .publishIndex, .replaceSegments: true
        case .upsert, .delete, .seal: false
        }
    }
}

/// What a committed op did.
enum WriteOutcome: Sendable {
    case created(CollectionState)
    case dropped(CollectionState)
    case upserted(inserted: Int, replaced: Int)
    case deleted(Int)
    case sealed(SegmentID?)
    case segmentsChanged
}
