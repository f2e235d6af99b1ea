/// What `Database.describeCollection` and `listCollections` report.
public struct CollectionInfo: Sendable, Hashable {
    public var schema: CollectionSchema
    /// Live records.
    public var rows: Int
    /// Memory held by the collection's vectors, ids and tombstones.
    public var memoryBytes: Int
    /// Milliseconds since the Unix epoch.
    public var createdAtMilliseconds: Int64
    /// The segments, oldest first.
    public var segments: [SegmentInfo]
    /// Background work (sealing, index builds, compaction, training) is queued or running.
    public var pending: Bool
    /// The nlist of the collection's trained quantizer, once trained.
    public var nlist: Int?

    public var name: String { schema.name }

    public init(
        schema: CollectionSchema, rows: Int, memoryBytes: Int, createdAtMilliseconds: Int64, segments: [SegmentInfo] = [],
        pending: Bool = false, nlist: Int? = nil
    ) {
        self.schema = schema
        self.rows = rows
        self.memoryBytes = memoryBytes
        self.createdAtMilliseconds = createdAtMilliseconds
        self.segments = segments
        self.pending = pending
        self.nlist = nlist
    }
}
