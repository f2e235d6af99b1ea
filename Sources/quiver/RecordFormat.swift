import QuiverCore

/// Records, fields and hits as the CLI prints them.
enum RecordFormat {
    static func json(_ value: FieldValue) -> JSONValue {
        switch value {
        case .null: .null
        case .int64(let v): .int(v)
        case .double(let v): .double(v)
        case .bool(let v): .bool(v)
        case .string(let v): .string(v)
        case .tags(let v): .array(v.map(JSONValue.string))
        }
    }

    static func json(_ fields: [String: FieldValue]) -> JSONValue {
        .object(fields.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
    }

    static func json(_ vector: [Float]) -> JSONValue { .array(vector.map(JSONValue.float)) }

    static func json(_ record: StoredRecord) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("id", .uint(record.id.rawValue))]
        if let vector = record.vector { pairs.append(("vector", json(vector))) }
        pairs.append(("fields", json(record.fields)))
        return .object(pairs)
    }

    /// A short vector for people: the first components and the dimension.
    static func brief(_ vector: [Float]) -> String {
        let shown = vector.prefix(4).map { JSONValue.float($0).rendered }.joined(separator: ", ")
        return vector.count > 4 ? "[\(shown), … (\(vector.count) dims)]" : "[\(shown)]"
    }

    static func brief(_ fields: [String: FieldValue]) -> String {
        fields.sorted { $0.key < $1.key }.map { "\($0.key)=\(json($0.value).rendered)" }.joined(separator: " ")
    }
}
