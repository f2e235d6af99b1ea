/// The definition of a collection: one vector field and typed scalar fields. Fixed at creation.
public struct CollectionSchema: Sendable, Hashable, Codable {
    public var name: String
    public var dimension: Int
    public var metric: Metric
    public var fields: [FieldSchema]
    /// How sealed segments are indexed. Defaults suit most collections.
    public var index: IndexSettings

    public init(
        name: String, dimension: Int, metric: Metric, fields: [FieldSchema] = [], index: IndexSettings = IndexSettings()
    ) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.fields = fields
        self.index = index
    }

    enum CodingKeys: String, CodingKey { case name, dimension, metric, fields, index }

    /// Catalog records written before index settings existed decode with the defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        dimension = try c.decode(Int.self, forKey: .dimension)
        metric = try c.decode(Metric.self, forKey: .metric)
        fields = try c.decode([FieldSchema].self, forKey: .fields)
        index = try c.decodeIfPresent(IndexSettings.self, forKey: .index) ?? IndexSettings()
    }

    /// The position of a field in `fields` (and in `ValidatedRecord.values`).
    public func fieldIndex(_ name: String) -> Int? {
        fields.firstIndex { $0.name == name }
    }

    /// Checks the name, dimension and fields; throws `invalidArgument` naming the first problem.
    public func validate() throws(QuiverError) {
        try CollectionSchema.validateName(name)
        guard Limits.dimensionRange.contains(dimension) else {
            throw .invalid(
                .invalidDimension,
                "collection \"\(name)\": dimension \(dimension) is out of range \(Limits.dimensionRange.lowerBound)–\(Limits.dimensionRange.upperBound)",
                collection: name, field: "dimension", value: String(dimension))
        }
        guard fields.count <= Limits.fieldsPerCollectionMax else {
            throw .invalid(
                .invalidSchema,
                "collection \"\(name)\": \(fields.count) fields, at most \(Limits.fieldsPerCollectionMax) are allowed",
                collection: name, field: "fields", value: String(fields.count))
        }
        try validateIndex()
        var seen = Set<String>()
        for field in fields {
            try FieldSchema.validateName(field.name, collection: name)
            guard seen.insert(field.name).inserted else {
                throw .invalid(
                    .invalidSchema, "collection \"\(name)\": field \"\(field.name)\" is declared twice",
                    collection: name, field: field.name, value: field.name)
            }
        }
    }

    /// Collection names: a letter, then letters, digits, `_` or `-`; 1–128 characters.
    public static func validateName(_ name: String) throws(QuiverError) {
        let bytes = Array(name.utf8)
        let valid =
            !bytes.isEmpty && bytes.count <= Limits.collectionNameLengthMax && bytes[0].isASCIILetter
            && bytes.allSatisfy {
                $0.isASCIILetter || $0.isASCIIDigit || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
        guard valid else {
            throw .invalid(
                .invalidName,
                "collection name \"\(name)\" is invalid: use 1–\(Limits.collectionNameLengthMax) letters, digits, '_' or '-', starting with a letter",
                collection: name, field: "name", value: name)
        }
    }

    private func validateIndex() throws(QuiverError) {
        func check(_ value: Int?, _ range: ClosedRange<Int>, _ field: String) throws(QuiverError) {
            guard let value, !range.contains(value) else { return }
            throw .invalid(
                .invalidSchema, "collection \"\(name)\": \(field) must be \(range.lowerBound)–\(range.upperBound), got \(value)",
                collection: name, field: field, value: String(value))
        }
        try check(index.nlist, IndexSettings.nlistRange, "nlist")
        try check(index.nprobe, IndexSettings.nprobeRange, "nprobe")
        if let target = index.recallTarget, !IndexSettings.recallTargetRange.contains(target) {
            throw .invalid(
                .invalidSchema,
                "collection \"\(name)\": recall_target must be \(IndexSettings.recallTargetRange.lowerBound)–\(IndexSettings.recallTargetRange.upperBound), got \(target)",
                collection: name, field: "recall_target", value: String(target))
        }
        if index.recallTarget != nil, index.nprobe != nil {
            throw .invalid(
                .invalidSchema, "collection \"\(name)\": give nprobe or recall_target as the search default, not both",
                collection: name, field: "recall_target", value: String(index.recallTarget!))
        }
        try check(index.segmentRows, IndexSettings.segmentRowsRange, "segment_rows")
        try check(index.sealAfterSeconds, IndexSettings.sealAfterSecondsRange, "seal_after_seconds")
        if case .pq(let m) = index.codes, m > dimension || dimension % m != 0 {
            throw .invalid(
                .invalidSchema, "collection \"\(name)\": PQ needs m dividing the dimension \(dimension), got \(m)",
                collection: name, field: "codes", value: index.codes.description)
        }
    }
}
