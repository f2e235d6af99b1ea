import QuiverCore

/// Values of the vectors and attrs families, specified in docs/architecture.md ("Storage layout").
///
/// vectors value: record id (u64 LE) | dimension × float32 LE — stored bit for bit as validated.
/// attrs value:   version (u8 = 1) | field count (u16 LE) | per field, in schema order:
///                a type tag (u8) and its payload:
///                  0 null, 1 int64 (8 LE), 2 double (8 LE, IEEE bits), 3 bool (1),
///                  4 string (u32 LE length, UTF-8), 5 tags (u32 LE count, then strings).
enum RowCodec {
    static let attrsVersion: UInt8 = 1

    static func encodeVector(id: RecordID, vector: [Float]) -> [UInt8] {
        var w = BinaryWriter(capacity: 8 + vector.count * 4)
        w.u64LE(id.rawValue)
        w.floats(vector)
        return w.bytes
    }

    /// Splits a vectors value into the record id and the raw float bytes (borrowed).
    static func decodeVector(
        _ value: UnsafeRawBufferPointer, dimension: Int
    ) throws(QuiverError) -> (RecordID, UnsafeRawBufferPointer) {
        guard value.count == 8 + dimension * 4 else {
            throw .corruption("vector value has \(value.count) bytes, expected \(8 + dimension * 4)")
        }
        var r = BinaryReader(value, what: "vector value")
        let id = RecordID(try r.u64LE())
        return (id, try r.rest())
    }

    static func encodeFields(_ values: [FieldValue]) -> [UInt8] {
        var w = BinaryWriter(capacity: 3 + values.count * 9)
        w.u8(attrsVersion)
        w.u16LE(UInt16(values.count))
        for value in values {
            switch value {
            case .null: w.u8(0)
            case .int64(let v): w.u8(1); w.u64LE(UInt64(bitPattern: v))
            case .double(let v): w.u8(2); w.u64LE(v.bitPattern)
            case .bool(let v): w.u8(3); w.u8(v ? 1 : 0)
            case .string(let v): w.u8(4); w.string(v)
            case .tags(let v):
                w.u8(5)
                w.u32LE(UInt32(v.count))
                for tag in v { w.string(tag) }
            }
        }
        return w.bytes
    }

    static func decodeFields(_ value: UnsafeRawBufferPointer, schema: CollectionSchema) throws(QuiverError) -> [FieldValue] {
        var r = BinaryReader(value, what: "fields of collection \"\(schema.name)\"")
        let version = try r.u8()
        guard version == attrsVersion else { throw .corruption("fields value has unknown version \(version)") }
        let count = Int(try r.u16LE())
        guard count == schema.fields.count else {
            throw .corruption("fields value holds \(count) fields, the schema has \(schema.fields.count)")
        }
        var values: [FieldValue] = []
        values.reserveCapacity(count)
        for field in schema.fields {
            let tag = try r.u8()
            let value: FieldValue
            switch tag {
            case 0: value = .null
            case 1: value = .int64(Int64(bitPattern: try r.u64LE()))
            case 2: value = .double(Double(bitPattern: try r.u64LE()))
            case 3: value = .bool(try r.u8() != 0)
            case 4: value = .string(try r.string())
            case 5:
                let n = Int(try r.u32LE())
                guard n <= Limits.tagsCountMax else { throw .corruption("tags value claims \(n) entries") }
                var tags: [String] = []
                tags.reserveCapacity(n)
                for _ in 0..<n { tags.append(try r.string()) }
                value = .tags(tags)
            default:
                throw .corruption("field \"\(field.name)\" has unknown type tag \(tag)")
            }
            guard value == .null || value.type == field.type else {
                throw .corruption("field \"\(field.name)\" holds a \(value.type!) value, the schema says \(field.type)")
            }
            values.append(value)
        }
        guard r.isAtEnd else { throw .corruption("fields value has trailing bytes") }
        return values
    }
}
