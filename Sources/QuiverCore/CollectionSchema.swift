/// The definition of a collection: one vector field and typed scalar fields. Fixed at creation.
public struct CollectionSchema: Sendable, Hashable, Codable {
    public var name: String
    public var dimension: Int
    public var metric: Metric
    public var fields: [FieldSchema]

    public init(name: String, dimension: Int, metric: Metric, fields: [FieldSchema] = []) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.fields = fields
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
}
