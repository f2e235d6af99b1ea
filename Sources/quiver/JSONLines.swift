import Foundation
import QuiverCore

/// Records from a JSON Lines file: one object per line,
/// `{"id": 1, "vector": [0.1, ...], "fields": {"title": "x", "year": 2020, "tags": ["a"]}}`.
///
/// Field values are converted by the collection's schema, so that a problem is reported with its
/// line number: integers for `int64`, any number for `double`, `true`/`false`, strings, arrays of
/// strings for `tags`, and `null`.
enum JSONLines {
    static func readRecords(_ path: String, schema: CollectionSchema) throws -> [Record] {
        let text = String(decoding: try VectorFiles.read(path), as: UTF8.self)
        let decoder = JSONDecoder()
        var records: [Record] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let where_ = "\(path):\(index + 1)"
            let value: JSONValue
            do { value = try decoder.decode(JSONValue.self, from: Data(trimmed.utf8)) } catch {
                throw CLIError("\(where_): not valid JSON")
            }
            records.append(try record(value, schema: schema, where: where_))
        }
        return records
    }

    static func record(_ value: JSONValue, schema: CollectionSchema, where location: String) throws -> Record {
        guard case .object = value else { throw CLIError("\(location): expected a JSON object") }
        let id: UInt64
        switch value["id"] {
        case .int(let v)? where v >= 0: id = UInt64(v)
        case .uint(let v)?: id = v
        default: throw CLIError("\(location): \"id\" must be a non-negative integer")
        }
        guard case .array(let components)? = value["vector"] else {
            throw CLIError("\(location): \"vector\" must be an array of numbers")
        }
        let vector = try components.map { component -> Float in
            guard let number = component.number else { throw CLIError("\(location): \"vector\" holds a non-number") }
            return Float(number)
        }
        var fields: [String: FieldValue] = [:]
        if let raw = value["fields"] {
            guard case .object(let pairs) = raw else { throw CLIError("\(location): \"fields\" must be an object") }
            for (name, json) in pairs {
                guard let field = schema.fields.first(where: { $0.name == name }) else {
                    throw CLIError(
                        "\(location): unknown field \"\(name)\" (collection \"\(schema.name)\" has: \(schema.fields.map(\.name).joined(separator: ", ")))")
                }
                fields[name] = try fieldValue(json, type: field.type, location: "\(location): field \"\(name)\"")
            }
        }
        return Record(id: RecordID(id), vector: vector, fields: fields)
    }

    static func fieldValue(_ json: JSONValue, type: FieldType, location: String) throws -> FieldValue {
        switch (type, json) {
        case (_, .null): return .null
        case (.int64, .int(let v)): return .int64(v)
        case (.double, _) where json.number != nil: return .double(json.number!)
        case (.bool, .bool(let v)): return .bool(v)
        case (.string, .string(let v)): return .string(v)
        case (.tags, .array(let items)):
            return .tags(try items.map { item in
                guard case .string(let s) = item else { throw CLIError("\(location): tags must be strings") }
                return s
            })
        default: throw CLIError("\(location): expected \(type), got \(json.rendered)")
        }
    }
}
