/// One result of a search.
public struct SearchHit: Sendable, Hashable {
    public var id: RecordID
    /// Squared L2 distance for `l2` (smaller is better); similarity for `ip` and `cosine` (larger
    /// is better).
    public var score: Float
    /// The stored vector, when requested.
    public var vector: [Float]?
    /// The requested fields (null ones included), when requested.
    public var fields: [String: FieldValue]?

    public init(id: RecordID, score: Float, vector: [Float]? = nil, fields: [String: FieldValue]? = nil) {
        self.id = id
        self.score = score
        self.vector = vector
        self.fields = fields
    }
}
