/// Record validation: every rule that rejects a write lives here, so that a batch is checked in
/// full before anything reaches storage.
extension CollectionSchema {
    /// Validates a whole batch and returns it prepared for storage, or throws for the first bad
    /// record, whose message ends with its row in the batch (clients that send columns know
    /// rows, not ids). Nothing is written by a batch that throws.
    public func validate(batch records: [Record]) throws(QuiverError) -> [ValidatedRecord] {
        guard !records.isEmpty else {
            throw .invalid(.emptyBatch, "collection \"\(name)\": the batch is empty", collection: name)
        }
        guard records.count <= Limits.batchRecordsMax else {
            throw .invalid(
                .limitExceeded,
                "collection \"\(name)\": a batch holds at most \(Limits.batchRecordsMax) records, got \(records.count)",
                collection: name, field: "records", value: String(records.count))
        }
        var seen = Set<RecordID>(minimumCapacity: records.count)
        var validated: [ValidatedRecord] = []
        validated.reserveCapacity(records.count)
        for (row, record) in records.enumerated() {
            guard seen.insert(record.id).inserted else {
                throw .invalid(
                    .duplicateID,
                    "collection \"\(name)\": id \(record.id) appears more than once in the batch (row \(row) of the batch)",
                    collection: name, field: "id", value: record.id.description)
            }
            do {
                validated.append(try validate(record))
            } catch {
                var located = error
                located.message += " (row \(row) of the batch)"
                throw located
            }
        }
        return validated
    }

    /// Validates one record against the schema.
    public func validate(_ record: Record) throws(QuiverError) -> ValidatedRecord {
        let what = "record \(record.id)"
        let vector = try metric.prepare(record.vector, dimension: dimension, collection: name, what: what)
        for key in record.fields.keys where fieldIndex(key) == nil {
            throw .invalid(
                .unknownField, "collection \"\(name)\": \(what) has unknown field \"\(key)\"",
                collection: name, field: key, value: key)
        }
        var values: [FieldValue] = []
        values.reserveCapacity(fields.count)
        for field in fields {
            values.append(try validate(record.fields[field.name] ?? .null, for: field, what: what))
        }
        return ValidatedRecord(id: record.id, vector: vector, values: values)
    }

    private func validate(_ value: FieldValue, for field: FieldSchema, what: String) throws(QuiverError) -> FieldValue {
        func mismatch() -> QuiverError {
            .invalid(
                .fieldTypeMismatch,
                "collection \"\(name)\": \(what) field \"\(field.name)\" expects \(field.type), got \(value.type.map(\.rawValue) ?? "null") \(value)",
                collection: name, field: field.name, value: value.description)
        }
        switch (field.type, value) {
        case (_, .null):
            guard field.nullable else {
                throw .invalid(
                    .nullNotAllowed, "collection \"\(name)\": \(what) lacks required field \"\(field.name)\"",
                    collection: name, field: field.name, value: "null")
            }
            return .null
        case (.int64, .int64), (.bool, .bool):
            return value
        case (.double, .double(let v)):
            guard !v.isNaN else {
                throw .invalid(
                    .nonFiniteValue, "collection \"\(name)\": \(what) field \"\(field.name)\" is NaN",
                    collection: name, field: field.name, value: "NaN")
            }
            return value
        case (.double, .int64(let v)):
            // Integers are widened for double fields when exact, since JSON has one number type.
            let widened = Double(v)
            guard Int64(exactly: widened) == v else { throw mismatch() }
            return .double(widened)
        case (.string, .string(let s)):
            try checkLength(s, max: Limits.stringBytesMax, field: field, what: what)
            return value
        case (.tags, .tags(let tags)):
            guard tags.count <= Limits.tagsCountMax else {
                throw .invalid(
                    .limitExceeded,
                    "collection \"\(name)\": \(what) field \"\(field.name)\" has \(tags.count) tags, at most \(Limits.tagsCountMax) are allowed",
                    collection: name, field: field.name, value: String(tags.count))
            }
            for tag in tags { try checkLength(tag, max: Limits.tagBytesMax, field: field, what: what) }
            return value
        default:
            throw mismatch()
        }
    }

    private func checkLength(_ s: String, max: Int, field: FieldSchema, what: String) throws(QuiverError) {
        guard s.utf8.count <= max else {
            throw .invalid(
                .limitExceeded,
                "collection \"\(name)\": \(what) field \"\(field.name)\" is \(s.utf8.count) bytes, at most \(max) are allowed",
                collection: name, field: field.name, value: s)
        }
    }
}
