/// A record as a caller writes it: primary key, vector and scalar field values by name.
///
/// Fields left out of `fields` are null; a required (non-nullable) field must be present.
public struct Record: Sendable, Hashable {
    public var id: RecordID
    public var vector: [Float]
    public var fields: [String: FieldValue]

    public init(id: RecordID, vector: [Float], fields: [String: FieldValue] = [:]) {
        self.id = id
        self.vector = vector
        self.fields = fields
    }
}

/// A record checked against its collection's schema: the vector is prepared for the metric
/// (normalized for cosine) and `values` holds one value per schema field, in schema order, with
/// `.null` for absent nullable fields and integers widened for `double` fields.
public struct ValidatedRecord: Sendable, Hashable {
    public var id: RecordID
    public var vector: [Float]
    public var values: [FieldValue]

    public init(id: RecordID, vector: [Float], values: [FieldValue]) {
        self.id = id
        self.vector = vector
        self.values = values
    }
}
