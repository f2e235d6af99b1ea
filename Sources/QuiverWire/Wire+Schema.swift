import QuiverCore
import QuiverProto

extension Quiver_V1_Metric {
    public init(_ metric: Metric) {
        switch metric {
        case .l2: self = .l2
        case .ip: self = .ip
        case .cosine: self = .cosine
        }
    }

    public func toDomain(collection: String) throws(QuiverError) -> Metric {
        switch self {
        case .l2: return .l2
        case .ip: return .ip
        case .cosine: return .cosine
        case .unspecified, .UNRECOGNIZED:
            throw .invalid(
                .invalidSchema, "collection \"\(collection)\": metric must be l2, ip or cosine",
                collection: collection, field: "metric", value: String(rawValue))
        }
    }
}

extension Quiver_V1_FieldType {
    public init(_ type: FieldType) {
        switch type {
        case .int64: self = .int64
        case .double: self = .double
        case .bool: self = .bool
        case .string: self = .string
        case .tags: self = .tags
        }
    }

    public func toDomain(collection: String, field: String) throws(QuiverError) -> FieldType {
        switch self {
        case .int64: return .int64
        case .double: return .double
        case .bool: return .bool
        case .string: return .string
        case .tags: return .tags
        case .unspecified, .UNRECOGNIZED:
            throw .invalid(
                .invalidSchema,
                "collection \"\(collection)\": field \"\(field)\" needs a type: int64, double, bool, string or tags",
                collection: collection, field: field, value: String(rawValue))
        }
    }
}

extension Quiver_V1_CollectionSchema {
    public init(_ schema: CollectionSchema) {
        self.init()
        name = schema.name
        dimension = UInt32(schema.dimension)
        metric = Quiver_V1_Metric(schema.metric)
        fields = schema.fields.map { field in
            var wire = Quiver_V1_FieldSchema()
            wire.name = field.name
            wire.type = Quiver_V1_FieldType(field.type)
            wire.required = !field.nullable
            return wire
        }
    }

    /// The domain schema; names and limits are validated by the engine, not here.
    public func toDomain() throws(QuiverError) -> CollectionSchema {
        var domainFields: [FieldSchema] = []
        for field in fields {
            domainFields.append(
                FieldSchema(
                    name: field.name, type: try field.type.toDomain(collection: name, field: field.name),
                    nullable: !field.required))
        }
        return CollectionSchema(
            name: name, dimension: Int(dimension), metric: try metric.toDomain(collection: name), fields: domainFields)
    }
}

extension Quiver_V1_CollectionInfo {
    public init(_ info: CollectionInfo) {
        self.init()
        schema = Quiver_V1_CollectionSchema(info.schema)
        rows = UInt64(info.rows)
        memoryBytes = UInt64(info.memoryBytes)
        createdAtMs = info.createdAtMilliseconds
    }

    public func toDomain() throws(QuiverError) -> CollectionInfo {
        CollectionInfo(
            schema: try schema.toDomain(), rows: Int(rows), memoryBytes: Int(memoryBytes),
            createdAtMilliseconds: createdAtMs)
    }
}
