/// Which scalar fields a read returns.
public enum FieldSelection: Sendable, Hashable {
    case none
    case all
    case only([String])

    /// The schema positions selected, or `unknownField` for a name the schema lacks.
    public func indices(in schema: CollectionSchema) throws(QuiverError) -> [Int] {
        switch self {
        case .none: return []
        case .all: return Array(schema.fields.indices)
        case .only(let names):
            var indices: [Int] = []
            for name in names {
                guard let index = schema.fieldIndex(name) else {
                    throw .invalid(
                        .unknownField, "collection \"\(schema.name)\" has no field \"\(name)\"",
                        collection: schema.name, field: name, value: name)
                }
                if !indices.contains(index) { indices.append(index) }
            }
            return indices
        }
    }
}

extension FieldSelection {
    /// The selection a request describes with a list of names and an "all fields" flag.
    public init(names: [String], all: Bool) {
        self = all ? .all : names.isEmpty ? .none : .only(names)
    }
}
