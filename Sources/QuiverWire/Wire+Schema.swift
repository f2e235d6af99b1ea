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

extension Quiver_V1_IndexSettings {
    public init(_ settings: IndexSettings) {
        self.init()
        codes = settings.codes.description
        nlist = UInt32(settings.nlist ?? 0)
        nprobe = UInt32(settings.nprobe ?? 0)
        recallTarget = settings.recallTarget ?? 0
        segmentRows = UInt32(settings.segmentRows ?? 0)
        sealAfterSeconds = UInt32(settings.sealAfterSeconds)
        compressFiles = settings.compressFiles
    }

    /// The settings; zero values take the defaults. Ranges are checked by schema validation.
    public func toDomain(collection: String) throws(QuiverError) -> IndexSettings {
        var settings = IndexSettings()
        if !codes.isEmpty {
            guard let parsed = IVFCodes(parsing: codes) else {
                throw .invalid(
                    .invalidSchema, "collection \"\(collection)\": codes must be flat, sq8 or pqM, got \"\(codes)\"",
                    collection: collection, field: "codes", value: codes)
            }
            settings.codes = parsed
        }
        if nlist > 0 { settings.nlist = Int(nlist) }
        if nprobe > 0 { settings.nprobe = Int(nprobe) }
        if recallTarget != 0 { settings.recallTarget = recallTarget }
        if segmentRows > 0 { settings.segmentRows = Int(segmentRows) }
        if sealAfterSeconds > 0 { settings.sealAfterSeconds = Int(sealAfterSeconds) }
        settings.compressFiles = compressFiles
        return settings
    }
}

extension Quiver_V1_SegmentInfo {
    public init(_ info: SegmentInfo) {
        self.init()
        id = info.id.rawValue
        phase = info.phase.rawValue
        rows = UInt64(info.rows)
        deletedRows = UInt64(info.deletedRows)
        memoryBytes = UInt64(info.memoryBytes)
        codes = info.codes?.description ?? ""
        nlist = UInt32(info.nlist ?? 0)
        createdAtMs = info.createdAtMilliseconds
        indexedAtMs = info.indexedAtMilliseconds ?? 0
        buildMs = info.buildMilliseconds ?? 0
        diskBytes = UInt64(info.diskBytes ?? 0)
    }

    public var domain: SegmentInfo {
        var info = SegmentInfo(
            id: SegmentID(id), phase: SegmentPhase(rawValue: phase) ?? .sealed, rows: Int(rows), deletedRows: Int(deletedRows),
            memoryBytes: Int(memoryBytes), codes: codes.isEmpty ? nil : IVFCodes(parsing: codes), nlist: nlist > 0 ? Int(nlist) : nil,
            createdAtMilliseconds: createdAtMs, indexedAtMilliseconds: indexedAtMs > 0 ? indexedAtMs : nil,
            buildMilliseconds: phase == SegmentPhase.indexed.rawValue ? buildMs : nil)
        info.diskBytes = diskBytes > 0 ? Int(diskBytes) : nil
        return info
    }
}

extension Quiver_V1_CollectionSchema {
    public init(_ schema: CollectionSchema) {
        self.init()
        name = schema.name
        dimension = UInt32(schema.dimension)
        metric = Quiver_V1_Metric(schema.metric)
        index = Quiver_V1_IndexSettings(schema.index)
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
            name: name, dimension: Int(dimension), metric: try metric.toDomain(collection: name), fields: domainFields,
            index: hasIndex ? try index.toDomain(collection: name) : IndexSettings())
    }
}

extension Quiver_V1_CollectionInfo {
    public init(_ info: CollectionInfo) {
        self.init()
        schema = Quiver_V1_CollectionSchema(info.schema)
        rows = UInt64(info.rows)
        memoryBytes = UInt64(info.memoryBytes)
        createdAtMs = info.createdAtMilliseconds
        segments = info.segments.map(Quiver_V1_SegmentInfo.init)
        pending = info.pending
        nlist = UInt32(info.nlist ?? 0)
    }

    public func toDomain() throws(QuiverError) -> CollectionInfo {
        CollectionInfo(
            schema: try schema.toDomain(), rows: Int(rows), memoryBytes: Int(memoryBytes),
            createdAtMilliseconds: createdAtMs, segments: segments.map(\.domain), pending: pending,
            nlist: nlist > 0 ? Int(nlist) : nil)
    }
}
