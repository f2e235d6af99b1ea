/// The type of a scalar field. Every field is either nullable or required (`FieldSchema.nullable`).
public enum FieldType: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case int64
    case double
    case bool
    case string
    /// An array of strings, for labels and categories.
    case tags

    public var description: String { rawValue }
}
