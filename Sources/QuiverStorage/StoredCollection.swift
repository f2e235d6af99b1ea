import QuiverCore

/// A collection as the catalog records it (meta family, JSON value).
public struct StoredCollection: Sendable, Hashable, Codable {
    public var id: CollectionID
    public var schema: CollectionSchema
    /// Milliseconds since the Unix epoch.
    public var createdAtMilliseconds: Int64

    public init(id: CollectionID, schema: CollectionSchema, createdAtMilliseconds: Int64) {
        self.id = id
        self.schema = schema
        self.createdAtMilliseconds = createdAtMilliseconds
    }
}

/// Everything `Store.loadCatalog` reads from the meta family on open.
public struct Catalog: Sendable {
    public var collections: [StoredCollection]
    /// The id the next created collection gets.
    public var nextCollectionID: CollectionID
    /// The next row id of each collection.
    public var nextRowIDs: [CollectionID: RowID]
}
