/// A typed scalar field of a collection.
public struct FieldSchema: Sendable, Hashable, Codable {
    public var name: String
    public var type: FieldType
    /// Whether a record may leave the field out (or set it to null). Default `true`.
    public var nullable: Bool

    public init(name: String, type: FieldType, nullable: Bool = true) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }

    /// Words of the filter language and the names records use on the wire. A field may not take
    /// them, so that every field can appear in a filter expression unquoted.
    public static let reservedNames: Set<String> = [
        "and", "or", "not", "in", "like", "is", "null", "true", "false",
        "contains", "contains_any", "contains_all", "id", "vector", "score",
    ]

    /// Field names are identifiers: a letter or `_`, then letters, digits or `_`; at most 64
    /// characters; not a reserved word (case-insensitive).
    public static func validateName(_ name: String, collection: String) throws(QuiverError) {
        let bytes = Array(name.utf8)
        let isIdentifier =
            !bytes.isEmpty && bytes.count <= Limits.fieldNameLengthMax
            && (bytes[0].isASCIILetter || bytes[0] == UInt8(ascii: "_"))
            && bytes.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == UInt8(ascii: "_") }
        guard isIdentifier else {
            throw .invalid(
                .invalidName,
                "collection \"\(collection)\": field name \"\(name)\" is invalid: use 1–\(Limits.fieldNameLengthMax) letters, digits or '_', starting with a letter or '_'",
                collection: collection, field: "name", value: name)
        }
        guard !reservedNames.contains(name.lowercased()) else {
            throw .invalid(
                .invalidName,
                "collection \"\(collection)\": field name \"\(name)\" is a reserved word",
                collection: collection, field: "name", value: name)
        }
    }
}

extension UInt8 {
    var isASCIILetter: Bool { (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) }
    var isASCIIDigit: Bool { (0x30...0x39).contains(self) }
}
