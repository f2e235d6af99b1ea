/// What `Database.describeCollection` and `listCollections` report.
public struct CollectionInfo: Sendable, Hashable {
    public var schema: CollectionSchema
    /// Live records.
    public var rows: Int
    /// Memory held by the collection's vectors, ids and tombstones.
    public var memoryBytes: Int
    /// Milliseconds since the Unix epoch.
    public var createdAtMilliseconds: Int64

    public var name: String { schema.name }

    public init(schema: CollectionSchema, rows: Int, memoryBytes: Int, createdAtMilliseconds: Int64) {
        self.schema = schema
        self.rows = rows
        self.memoryBytes = memoryBytes
        self.createdAtMilliseconds = createdAtMilliseconds
    }
}
