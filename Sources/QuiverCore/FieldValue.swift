/// One scalar field value of a record.
public enum FieldValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case string(String)
    case tags([String])

    /// The type of a non-null value; `nil` for `.null`.
    public var type: FieldType? {
        switch self {
        case .null: nil
        case .int64: .int64
        case .double: .double
        case .bool: .bool
        case .string: .string
        case .tags: .tags
        }
    }

    public var description: String {
        switch self {
        case .null: "null"
        case .int64(let v): String(v)
        case .double(let v): String(v)
        case .bool(let v): String(v)
        case .string(let v): "\"\(v)\""
        case .tags(let v): "[" + v.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
    }
}
