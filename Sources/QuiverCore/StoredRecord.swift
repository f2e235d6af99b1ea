/// A record as `Database.get` returns it: the stored vector bit for bit (normalized for cosine)
/// and the selected fields, null ones included.
public struct StoredRecord: Sendable, Hashable {
    public var id: RecordID
    public var vector: [Float]?
    public var fields: [String: FieldValue]

    public init(id: RecordID, vector: [Float]?, fields: [String: FieldValue]) {
        self.id = id
        self.vector = vector
        self.fields = fields
    }
}
