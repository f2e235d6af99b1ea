import QuiverCore
import QuiverProto

extension Quiver_V1_FieldValue {
    public init(_ value: FieldValue) {
        self.init()
        switch value {
        case .null: kind = nil
        case .int64(let v): kind = .int64Value(v)
        case .double(let v): kind = .doubleValue(v)
        case .bool(let v): kind = .boolValue(v)
        case .string(let v): kind = .stringValue(v)
        case .tags(let v): kind = .tagsValue(Quiver_V1_TagList.with { $0.values = v })
        }
    }

    public var domain: FieldValue {
        switch kind {
        case nil: .null
        case .int64Value(let v): .int64(v)
        case .doubleValue(let v): .double(v)
        case .boolValue(let v): .bool(v)
        case .stringValue(let v): .string(v)
        case .tagsValue(let v): .tags(v.values)
        }
    }
}

extension Dictionary where Key == String, Value == Quiver_V1_FieldValue {
    public init(_ fields: [String: FieldValue]) {
        self = fields.mapValues(Quiver_V1_FieldValue.init)
    }

    public var domain: [String: FieldValue] { mapValues(\.domain) }
}

extension Quiver_V1_Record {
    public init(_ record: Record) {
        self.init()
        id = record.id.rawValue
        vector = PackedVectors.encode(record.vector)
        fields = .init(record.fields)
    }

    public init(_ record: StoredRecord) {
        self.init()
        id = record.id.rawValue
        if let v = record.vector { vector = PackedVectors.encode(v) }
        fields = .init(record.fields)
    }

    /// The record to write. The dimension is checked by the engine, which knows the schema.
    public func toRecord(collection: String) throws(QuiverError) -> Record {
        Record(
            id: RecordID(id), vector: try PackedVectors.decode(vector, what: "record \(id) vector", collection: collection),
            fields: fields.domain)
    }

    /// The record as read back; an empty vector means the vector was not requested.
    public func toStoredRecord(collection: String) throws(QuiverError) -> StoredRecord {
        StoredRecord(
            id: RecordID(id),
            vector: vector.isEmpty ? nil : try PackedVectors.decode(vector, what: "record \(id) vector", collection: collection),
            fields: fields.domain)
    }
}
