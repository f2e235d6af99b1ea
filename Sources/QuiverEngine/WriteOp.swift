import QuiverCore

/// A mutation submitted to the commit queue, already validated against its collection's schema.
enum WriteOp: Sendable {
    case create(CollectionSchema)
    case drop(name: String)
    case upsert(CollectionState, [ValidatedRecord])
    case delete(CollectionState, [RecordID])

    /// Records the op carries; `batch` sync stops waiting once enough are pending.
    var recordCount: Int {
        switch self {
        case .create, .drop: 1
        case .upsert(_, let records): records.count
        case .delete(_, let ids): ids.count
        }
    }

    /// Catalog changes are always fsynced, whatever the sync policy: they are rare, and a
    /// collection that vanished after a crash would be worse than a slow create.
    var changesCatalog: Bool {
        switch self {
        case .create, .drop: true
        case .upsert, .delete: false
        }
    }
}

/// What a committed op did.
enum WriteOutcome: Sendable {
    case created(CollectionState)
    case dropped(CollectionState)
    case upserted(inserted: Int, replaced: Int)
    case deleted(Int)
}
